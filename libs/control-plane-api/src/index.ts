// Public API of control-plane-api: the control plane's HTTP API as TypeBox schemas, one source for the control plane, proxies and meshctl.
export * from './registration';
export * from './push-message';
export * from './proxy-view';
export * from './certificate-request';
export * from './history-entry';
export * from './config-apply';
export * from './service-fault';
export * from './peer-batch';
export * from './contract-check';
export * from './access';
export * from './control-plane-tls';
export * from './dashboard';
