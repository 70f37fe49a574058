// Public API of workspace-plugin: MeshCart's Nx generators (generators.json lists them for `nx g`).
export { serviceGenerator, NewServiceRefused, type ServiceGeneratorSchema } from './generators/service/generator';
export { nameProblem, namesOf, type ServiceNames } from './generators/service/names';
