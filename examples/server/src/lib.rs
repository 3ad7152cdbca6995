//! The example domains' server: the inventory (the app's, and the default) and the bank,
//! chosen with `--domain`, and the inventory's reorder reaction. Built as any user's server
//! is, through annals-server's library.

use annals_core::{Uuid, id_of};
use annals_inventory::{Inventory, InventoryCommand, InventoryEvent, RequestReorder};
use annals_server::Server;
use annals_server::reactions::{Delivery, Handled, Reaction};

/// The server of both example domains, with the reorder reaction.
pub fn server() -> Server {
    Server::new().domain::<Inventory>().domain::<annals_bank::Bank>().reaction(reorder())
}

/// When an item's stock at a site falls below its reorder level, asks for more, once per
/// crossing: [`RequestReorder`], which the `reorders` view lists until the site is refilled.
pub fn reorder() -> Reaction<Inventory> {
    Reaction::new("reorder", crossing).event_types(&["StockConsumed", "StockCounted"])
}

/// The reorder request a stock change calls for: one when it took the site from at or above
/// the item's reorder level to below it.
async fn crossing(delivery: Delivery<Inventory>) -> Handled<InventoryCommand> {
    let site = match &delivery.envelope.event {
        InventoryEvent::StockConsumed(e) => &e.site,
        InventoryEvent::StockCounted(e) => &e.site,
        _ => return Ok(Vec::new()),
    };
    let Some(item) = delivery.state_before().await? else {
        return Ok(Vec::new());
    };
    let before = item.at(site);
    let after = match &delivery.envelope.event {
        InventoryEvent::StockConsumed(e) => before.saturating_sub(e.qty),
        InventoryEvent::StockCounted(e) => e.counted,
        _ => before,
    };
    let level = item.reorder_level;
    if item.retired || before < level || after >= level {
        return Ok(Vec::new());
    }
    let item = Uuid::parse_str(id_of(&delivery.envelope.stream))?;
    Ok(vec![InventoryCommand::RequestReorder(RequestReorder { item, site: site.clone() })])
}
