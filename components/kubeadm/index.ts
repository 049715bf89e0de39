export * from "./config";
export * from "./node";
export * from "./scripts";
