// Imported first by call.tsx, so it runs before Fluent UI's modules are evaluated.
//
// Fluent UI v8 registers @font-face rules for Segoe UI pointing at Microsoft's font CDN
// (res-1.cdn.office.net) unless window.FabricConfig.fontBaseUrl is set. An empty base URL
// turns that off: the page loads nothing from a third party, the CSP needs no font-src, and
// text falls back to the system's UI font.

declare global {
  interface Window {
    FabricConfig?: { fontBaseUrl?: string; [key: string]: unknown };
  }
}

window.FabricConfig = { ...window.FabricConfig, fontBaseUrl: "" };

export {};
