// Attribute helpers shared by data sources.
import type { AttrDef } from "../framework/schema.ts";

export const computed = (name: string, type: AttrDef["type"], description: string): AttrDef => ({
  name,
  type,
  computed: true,
  description,
});
