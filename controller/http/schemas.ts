/**
 * The API's request and response shapes, as zod schemas. Routes validate with them and `/openapi.json` is generated
 * from them, so the description cannot drift from what the code accepts.
 */
import { z } from "zod";
import { MAIL_STATUSES, SLUG_MAX_LENGTH, SLUG_PATTERN } from "../sites/site";

export const slugSchema = z
  .string()
  .max(SLUG_MAX_LENGTH, `a slug has at most ${SLUG_MAX_LENGTH} characters`)
  .regex(SLUG_PATTERN, "expected a slug of lowercase letters and digits in hyphen-separated runs, e.g. my-site")
  .meta({ description: "The site's slug (Voxeil's rule), e.g. `my-site`.", example: "my-site" });

/** RFC 5321 local part (dot-atom), lowercase letters, digits and the usual punctuation; at most 64 characters. */
export const localPartSchema = z
  .string()
  .max(64, "a local part has at most 64 characters")
  .regex(
    /^[a-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[a-z0-9!#$%&'*+/=?^_`{|}~-]+)*$/i,
    "expected a mailbox name such as info or first.last",
  )
  .meta({ description: "The part of the address before the @.", example: "info" });

export const siteParams = z.object({ slug: slugSchema }).strict();
export const mailboxParams = z.object({ slug: slugSchema, localPart: localPartSchema }).strict();

export const enableBody = z
  .object({
    domain: z
      .string()
      .min(1)
      .max(253)
      .optional()
      .meta({ description: "Optional; must be the site's own domain (a safety check by the caller)." }),
  })
  .strict();

export const emptyBody = z.object({}).strict();

export const purgeBody = z
  .object({
    confirm: z
      .string({
        error: (issue) =>
          issue.input === undefined
            ? 'required: repeat the site\'s slug to confirm the purge, e.g. {"confirm": "shop"}'
            : "expected the site's slug as a string",
      })
      .max(SLUG_MAX_LENGTH, { error: `expected the site's slug (at most ${SLUG_MAX_LENGTH} characters)` })
      .meta({ description: "Must repeat the slug: purge deletes every mailbox." }),
  })
  .strict();

export const newMailboxBody = z
  .object({
    localPart: localPartSchema,
    password: z
      .string()
      .min(8, "a password has at least 8 characters")
      .max(256, "a password has at most 256 characters")
      .meta({ description: "Never echoed back or logged." }),
    quotaMb: z.int().min(1).max(10_000_000).meta({ description: "Mailbox quota in MiB." }),
    name: z.string().min(1).max(255).optional().meta({ description: "Display name; defaults to the local part." }),
  })
  .strict();

export const errorResponse = z
  .object({
    error: z.object({
      code: z.string().meta({ description: "Stable machine-readable code, e.g. `invalid_body`." }),
      message: z.string().meta({ description: "What was wrong, naming the input." }),
      details: z.array(z.object({ path: z.string(), message: z.string() })).optional(),
    }),
  })
  .meta({ id: "Error" });

export const dnsRecord = z.object({
  name: z.string(),
  type: z.enum(["MX", "TXT", "CNAME", "SRV"]),
  content: z.string(),
  chunks: z.array(z.string()).optional(),
  priority: z.int().optional(),
  ttl: z.int(),
  purpose: z.string(),
  state: z.enum(["published", "manual", "pending", "verified", "failed"]).meta({
    description:
      "With DNS checks: verified, failed or pending at the domain's authoritative name servers. Without checks (or not checked since the controller started): published (in Cloudflare) or manual (publish it by hand).",
  }),
  detail: z.string().optional().meta({ description: "What the last DNS check found for this record." }),
});

export const runView = z.object({
  state: z.enum(["queued", "running", "retrying"]),
  desired: z.enum(["enabled", "disabled", "purged"]).nullable(),
  attempt: z.int(),
  done: z.int().meta({ description: "Resources finished in the current stack run." }),
  total: z.int().meta({ description: "Resources announced so far in the current stack run." }),
  startedAt: z.string().nullable(),
});

export const mailStatusResponse = z
  .object({
    slug: z.string(),
    enabled: z.boolean(),
    provider: z.string(),
    domain: z.string(),
    status: z.enum(MAIL_STATUSES),
    lastError: z.string(),
    dns: z.object({
      provider: z.enum(["cloudflare", "manual"]),
      records: z.array(dnsRecord),
      checkedAt: z.string().nullable().meta({ description: "When the records were last checked (null: not yet)." }),
      nextCheckAt: z.string().nullable().meta({ description: "The next check, while the checks continue." }),
      deadline: z
        .string()
        .nullable()
        .meta({ description: "While the checks continue: when the site goes to error if they have not verified." }),
      notice: z.string().optional().meta({
        description: "What the operator still has to do by hand (manual DNS: remove the records after a disable).",
      }),
    }),
    run: runView.nullable(),
  })
  .meta({ id: "MailStatus" });

export const mailboxResponse = z
  .object({
    username: z.string(),
    localPart: z.string(),
    domain: z.string(),
    name: z.string(),
    active: z.boolean(),
    quotaMb: z.number(),
  })
  .meta({ id: "Mailbox" });

export const mailboxListResponse = z.object({ mailboxes: z.array(mailboxResponse) });

export const healthResponse = z.object({ status: z.literal("ok") });

export const readyResponse = z.object({
  status: z.enum(["ready", "not-ready"]),
  checks: z.record(z.string(), z.string()),
});
