export * from "./guard";
export * from "./istio";
export * from "./scripts";
export * from "./settings";
export * from "./values";
