/** The first-run hint: one ingest call, as a user would paste it into a terminal. */
export function curlExample(apiUrl: string): string {
  return [
    `curl -X POST ${apiUrl}/api/events/run \\`,
    `  -H "Authorization: Bearer <token>" \\`,
    `  -H "Content-Type: application/json" \\`,
    `  -d '{"pipeline": "web", "status": "success", "duration_sec": 42, "branch": "main", "commit": "5184f9c", "triggered_by": "octocat"}'`,
  ].join("\n");
}
