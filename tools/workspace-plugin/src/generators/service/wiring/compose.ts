// docker-compose.yml: the app and its sidecar, their join credential and data volumes, the gateway
// waiting for the sidecar; and the sidecar as a target of the compose Prometheus.
import type { Tree } from '@nx/devkit';
import { appendToBlock, insertAfterLast, insertBefore } from './text-blocks';
import { edit, type Wiring } from './context';

export const COMPOSE_FILE = 'docker-compose.yml';
export const PROMETHEUS_FILE = 'deploy/observability/prometheus/compose.yml';

export function addToCompose(tree: Tree, w: Wiring): void {
  // One instance: the container is named after the service (replicas are named after their instance).
  const s = w.n.service;
  const port = `"${w.port}"`;
  const app = [
    `  ${s}:`,
    `    <<: [*image, *app-resources]`,
    `    command: [${s}]`,
    `    environment: { <<: *app-env, PORT: ${port}, MESH_INSTANCE: ${w.instance}, MESH_LABELS: "version=v1" }`,
    `    volumes: [${w.n.name}-data:/data]`,
    `  ${s}-sidecar:`,
    `    <<: [*image, *sidecar-resources]`,
    `    command: [sidecar]`,
    `    network_mode: service:${s}`,
    `    volumes: ["join-${s}:/join/${s}:ro"]`,
    `    depends_on: { <<: *sidecar-depends, ${s}: { condition: service_started } }`,
    `    environment: { <<: *sidecar-env, MESH_SERVICE: ${s}, MESH_JOIN_TOKEN_FILE: /join/${s}/token, MESH_INSTANCE: ${w.instance}, MESH_LABELS: "version=v1", APP_PORT: ${port}, ADVERTISE_HOST: ${s} }`,
    ``,
  ];
  edit(tree, COMPOSE_FILE, (text) => {
    let t = insertBefore(COMPOSE_FILE, text, /^ {2}gateway:$/, app);
    t = appendToBlock(COMPOSE_FILE, t, /^ {4}volumes:$/, [`      - join-${s}:/join/${s}`], /^ {2}control-plane:$/);
    t = appendToBlock(COMPOSE_FILE, t, /^ {4}depends_on:$/, [`      ${s}-sidecar: { condition: service_healthy }`], /^ {2}gateway:$/);
    t = insertAfterLast(COMPOSE_FILE, t, /^ {2}join-[a-z0-9-]+:$/, [`  join-${s}:`]);
    return appendToBlock(COMPOSE_FILE, t, /^volumes:$/, [`  ${w.n.name}-data:`]);
  });
  edit(tree, PROMETHEUS_FILE, (text) =>
    insertBefore(PROMETHEUS_FILE, text, /^ {6}- targets: \["gateway:/, [
      `      - targets: ["${s}:15000"]`,
      `        labels: { service: ${s}, instance_name: ${s}, proxy_kind: sidecar }`,
    ]),
  );
}
