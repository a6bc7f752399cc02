/// <reference types="vite/client" />

interface ImportMetaEnv {
  /** Build-time default API base URL (used by `npm run dev`); config.json wins at run time. */
  readonly VITE_API_URL?: string;
}
