export * from "./cilium";
export * from "./scripts";
export * from "./settings";
export * from "./values";
