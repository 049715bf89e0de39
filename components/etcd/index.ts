export * from "./scripts";
export * from "./snapshots";
