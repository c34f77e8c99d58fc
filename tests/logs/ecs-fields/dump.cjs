// Prints the ECS field definitions as JSON: {flat_name: {type, normalize}} for every field.
const { EcsFlat, EcsVersion } = require('@elastic/ecs');
const fields = {};
for (const [name, def] of Object.entries(EcsFlat)) {
  fields[name] = { type: def.type, normalize: def.normalize || [] };
}
process.stdout.write(JSON.stringify({ version: EcsVersion, fields }));
