/** The OpenAPI 3.1 document, generated from the route table and its zod schemas (`z.toJSONSchema`). */
import { z } from "zod";
import type { RouteSpec } from "./routes";

/** `/sites/:slug/x` → `/sites/{slug}/x`. */
export function openApiPath(expressPath: string): string {
  return expressPath.replace(/:([A-Za-z0-9_]+)/g, "{$1}");
}

function schema(s: z.ZodType, io: "input" | "output"): Record<string, unknown> {
  const json = z.toJSONSchema(s, { io, unrepresentable: "any", reused: "inline" }) as Record<string, unknown>;
  delete json.$schema;
  return json;
}

export function buildOpenApi(routes: readonly RouteSpec[], info: { version: string }): Record<string, unknown> {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const route of routes) {
    const path = openApiPath(route.path);
    paths[path] ??= {};
    const parameters = route.params
      ? Object.entries(route.params.shape).map(([name, s]) => ({
          name,
          in: "path",
          required: true,
          schema: schema(s as z.ZodType, "input"),
        }))
      : [];
    const responses: Record<string, unknown> = {};
    for (const [status, spec] of Object.entries(route.responses)) {
      responses[status] = {
        description: spec.description,
        ...(spec.schema
          ? { content: { [spec.contentType ?? "application/json"]: { schema: schema(spec.schema, "output") } } }
          : spec.contentType
            ? { content: { [spec.contentType]: {} } }
            : {}),
      };
    }
    paths[path][route.method] = {
      operationId: route.operationId,
      summary: route.summary,
      ...(route.public ? { security: [] } : {}),
      ...(parameters.length > 0 ? { parameters } : {}),
      ...(route.body
        ? {
            requestBody: {
              required: false,
              content: { "application/json": { schema: schema(route.body, "input") } },
            },
          }
        : {}),
      responses,
    };
  }
  return {
    openapi: "3.1.0",
    info: {
      title: "mail-zone controller",
      version: info.version,
      description:
        "Turns mail on and off per hosted site: Mailcow domain, DKIM, the site's DNS stack, and the status in the " +
        "site namespace's annotations. Requests are recorded and reconciled asynchronously; poll the status.",
    },
    components: {
      securitySchemes: { bearer: { type: "http", scheme: "bearer" } },
    },
    security: [{ bearer: [] }],
    paths,
  };
}
