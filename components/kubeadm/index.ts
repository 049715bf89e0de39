export * from "./config";
export * from "./node";
export * from "./scripts";
export * from "./kube-vip";
export * from "./upgrade";
export * from "./upgrade-scripts";
