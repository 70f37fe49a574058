// Public API of the test harnesses: real processes and servers on loopback, temporary data.
export { makeTempDir } from './temp-dir';
export { startServiceProcess, type StartedService } from './service-process';
export { startRecordingServer, type RecordingServer, type RecordedRequest, type Reply } from './recording-server';
export { startControlPlaneProcess, type ControlPlaneProcess } from './control-plane-process';
