// Before any container test: Docker must answer, and the image under test must exist. It is built
// here (deploy/docker/build-image.sh; MESHCART_IMAGE_BUILD=offline on machines without an image
// registry) unless MESHCART_IMAGE names one that is already built. Tests read it with inject('image').
import { execFileSync, spawnSync } from 'node:child_process';
import { resolve } from 'node:path';
import type { TestProject } from 'vitest/node';

declare module 'vitest' {
  export interface ProvidedContext {
    image: string;
  }
}

const root = resolve(import.meta.dirname, '../../..');

export default function setup(project: TestProject): void {
  const info = spawnSync('docker', ['info', '--format', '{{.ServerVersion}}'], { encoding: 'utf8' });
  if (info.status !== 0) {
    throw new Error(`the container tests need a running Docker engine; \`docker info\` said: ${(info.stderr || info.error?.message || '').trim()}`);
  }
  const given = process.env['MESHCART_IMAGE'];
  if (given && spawnSync('docker', ['image', 'inspect', given], { stdio: 'ignore' }).status === 0) {
    project.provide('image', given);
    return;
  }
  const image = given ?? 'meshcart:test';
  const args = ['--tag', image, ...(process.env['MESHCART_IMAGE_BUILD'] === 'offline' ? ['--offline'] : [])];
  console.log(`building ${image}: deploy/docker/build-image.sh ${args.join(' ')}`);
  execFileSync(resolve(root, 'deploy/docker/build-image.sh'), args, { cwd: root, stdio: 'inherit' });
  project.provide('image', image);
}
