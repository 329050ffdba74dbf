import type { SelectedProfile } from "../../context.ts";
import { fields, result } from "../../output.ts";
import { maskSecret, TOKEN_FIELDS } from "../../profile.ts";

/** A profile as `config show` prints it: API key masked, tokens only as `stored` (docs/spec/cli.md §5.1). */
export function profileView({ name, profile }: SelectedProfile, configPath: string) {
  const view: Record<string, string> = { profile: name, configPath };
  if (profile.baseUrl) view.baseUrl = profile.baseUrl;
  if (profile.apiKey) view.apiKey = maskSecret(profile.apiKey);
  if (profile.tenantId) view.tenantId = profile.tenantId;
  for (const t of TOKEN_FIELDS) if (profile[t]) view[t] = "stored";
  return result(view, fields(Object.entries(view)));
}
