// A value the control plane reports as null when it has none (JSON keeps the key, unlike undefined).
import { Type, type TSchema } from '@sinclair/typebox';

export const Nullable = <T extends TSchema>(schema: T) => Type.Union([schema, Type.Null()]);
