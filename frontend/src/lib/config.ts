// The one place that decides where the API lives.
const FALLBACK_API_URL = "http://127.0.0.1:8000";

/** `trendsUrl`: the Streamlit trends app, when one is served (config.json only). */
export type AppConfig = { apiUrl: string; trendsUrl?: string };

/** `config.json` beside the built app wins (set at deploy time), then VITE_API_URL, then the local default. */
export async function loadConfig(fetchImpl: typeof fetch = fetch): Promise<AppConfig> {
  try {
    const response = await fetchImpl("./config.json", { cache: "no-store" });
    if (response.ok) {
      const body: unknown = await response.json();
      if (isConfig(body)) {
        const trends = (body as { trendsUrl?: unknown }).trendsUrl;
        return typeof trends === "string" && trends
          ? { apiUrl: trimSlash(body.apiUrl), trendsUrl: trimSlash(trends) }
          : { apiUrl: trimSlash(body.apiUrl) };
      }
    }
  } catch {
    // Missing or not JSON (the dev server answers index.html): fall through to the build-time default.
  }
  return { apiUrl: trimSlash(import.meta.env.VITE_API_URL || FALLBACK_API_URL) };
}

/** http → ws, https → wss, keeping host, port and any path prefix; empty values are left out, as for REST. */
export function toWebSocketUrl(apiUrl: string, path: string, params: Record<string, string>): string {
  const url = new URL(trimSlash(apiUrl) + path);
  url.protocol = url.protocol === "https:" ? "wss:" : "ws:";
  for (const [key, value] of Object.entries(params)) if (value) url.searchParams.set(key, value);
  return url.toString();
}

function isConfig(value: unknown): value is AppConfig {
  return (
    typeof value === "object" &&
    value !== null &&
    typeof (value as { apiUrl?: unknown }).apiUrl === "string" &&
    (value as { apiUrl: string }).apiUrl.length > 0
  );
}

function trimSlash(url: string): string {
  return url.replace(/\/+$/, "");
}
