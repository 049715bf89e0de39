export * from "./config";
export * from "./node";
export * from "./scripts";
export * from "./kube-vip";
