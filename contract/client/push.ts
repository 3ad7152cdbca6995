// Pushes inventory commands through a client generated from the OpenAPI document, and reads
// the results and a view with the types the document gives them.
import createClient from "openapi-fetch";
import type { components, paths } from "./generated/api";

type PushCommand = components["schemas"]["PushCommand"];

const client = createClient<paths>({
  baseUrl: process.env.ANNALS_URL ?? "http://127.0.0.1:8080",
  headers: { Authorization: `Bearer ${process.env.ANNALS_TOKEN}` },
});

export async function receive(item: string, qty: number): Promise<number> {
  const commands: PushCommand[] = [
    { id: crypto.randomUUID(), type: "AddItem", data: { item, name: "Bolts", unit: "each", reorder_level: 3 } },
    { id: crypto.randomUUID(), type: "ReceiveStock", data: { item, site: "north", qty } },
  ];
  const { data, error } = await client.POST("/v1/commands", { body: { commands } });
  if (error) {
    throw new Error(`${error.error.code}: ${error.error.message}`);
  }
  for (const result of data.results) {
    if (result.status === "rejected") {
      throw new Error(`${result.code}: ${result.message}`);
    }
  }
  const stock = await client.GET("/v1/views/stock/{key}", { params: { path: { key: item } } });
  return stock.data?.value.total ?? 0;
}

// What the document's types refuse.
export const refused: PushCommand[] = [
  // @ts-expect-error: qty is a number
  { id: "1", type: "ReceiveStock", data: { item: "i", site: "north", qty: "5" } },
  // @ts-expect-error: the inventory has no such command
  { id: "2", type: "OrderPizza", data: {} },
  // @ts-expect-error: AddItem needs a name
  { id: "3", type: "AddItem", data: { item: "i", unit: "kg" } },
];
