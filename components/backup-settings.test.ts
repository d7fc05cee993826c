import { describe, expect, it } from "vitest";
import { BACKUP_IMAGE_DEFAULTS, isCronSchedule, parseBackupSettings } from "./backup-settings";

describe("parseBackupSettings", () => {
  it("fills every default from an absent setting", () => {
    expect(parseBackupSettings(undefined)).toEqual({
      enabled: true,
      schedule: "15 3 * * *",
      timeZone: "Etc/UTC",
      retentionDays: 14,
      keepLast: 7,
      maxShrinkPercent: 50,
      target: { type: "volume", claimName: "mailcow-backups", size: "50Gi" },
      activeDeadlineSeconds: 21_600,
      images: { ...BACKUP_IMAGE_DEFAULTS },
    });
  });

  it("names the key, the value and the expectation for a bad schedule", () => {
    expect(() => parseBackupSettings({ schedule: "every night" })).toThrow(
      /mail-zone:backup\.schedule: got "every night"; expected a five-field cron schedule/,
    );
  });

  it("refuses a retention below one day, naming the field", () => {
    expect(() => parseBackupSettings({ retentionDays: 0 })).toThrow(
      /mail-zone:backup\.retentionDays: got 0; expected at least 1/,
    );
  });

  it("refuses S3 keys written into config without echoing them", () => {
    let message = "";
    try {
      parseBackupSettings({
        target: { type: "s3", endpoint: "https://s3.example.test", bucket: "b-1", secretAccessKey: "SuperSecretValue" },
      });
    } catch (err) {
      message = (err as Error).message;
    }
    expect(message).toContain("mail-zone:backup.target.secretAccessKey");
    expect(message).toContain("credentialsSecret.name");
    expect(message).not.toContain("SuperSecretValue");
  });

  it("requires the credentials Secret for an S3 target", () => {
    expect(() =>
      parseBackupSettings({ target: { type: "s3", endpoint: "https://s3.example.test", bucket: "mail-backups" } }),
    ).toThrow(/mail-zone:backup\.target\.credentialsSecret/);
  });

  it("rejects unknown fields as typos", () => {
    expect(() => parseBackupSettings({ retention: 7 })).toThrow(/unknown field\(s\) retention/);
  });

  it("accepts an S3 target and trims the prefix's slashes", () => {
    const s = parseBackupSettings({
      target: {
        type: "s3",
        endpoint: "https://s3.example.test",
        bucket: "mail-backups",
        prefix: "/a/b/",
        credentialsSecret: { name: "backup-s3" },
      },
    });
    expect(s.target).toMatchObject({ type: "s3", prefix: "a/b", region: "us-east-1", provider: "Other" });
  });
});

describe("isCronSchedule", () => {
  it("accepts five-field schedules and macros, and refuses the rest", () => {
    expect(isCronSchedule("15 3 * * *")).toBe(true);
    expect(isCronSchedule("*/30 1-5 * * mon-fri")).toBe(true);
    expect(isCronSchedule("@daily")).toBe(true);
    expect(isCronSchedule("0 15 3 * * *")).toBe(false);
    expect(isCronSchedule("soon")).toBe(false);
  });
});
