/**
 * LinkedIdentities (Passport 1.2): a visa whose `value` lists other {sub, iss} pairs that are the
 * same person as the visa's own {sub, iss}. The clearinghouse combines visas of different
 * identities only through such links from trusted issuers and sources; links chain (A=B, B=C).
 */

export interface VisaIdentity {
  issuer: string;
  subject: string;
}

/**
 * `<uri-encoded-sub>,<uri-encoded-iss>` entries separated by `;`, no whitespace. Returns null when
 * any entry is not of that form (the whole visa is then unusable: a half-read link is no link).
 */
export function parseLinkedIdentities(value: string): VisaIdentity[] | null {
  if (value.length === 0) return null;
  const identities: VisaIdentity[] = [];
  for (const entry of value.split(';')) {
    const parts = entry.split(',');
    if (parts.length !== 2) return null;
    const [sub, iss] = parts as [string, string];
    if (sub.length === 0 || iss.length === 0) return null;
    try {
      identities.push({ subject: decodeURIComponent(sub), issuer: decodeURIComponent(iss) });
    } catch {
      return null;
    }
  }
  return identities;
}

/** A collision-free key for an identity (issuers and subjects may contain any character). */
export const identityKey = ({ issuer, subject }: VisaIdentity): string => JSON.stringify([issuer, subject]);

/** Equivalence classes of identities (union-find over identity keys). */
export class IdentityLinks {
  private readonly parent = new Map<string, string>();

  private find(key: string): string {
    let root = key;
    while (true) {
      const up = this.parent.get(root);
      if (up === undefined || up === root) break;
      root = up;
    }
    // Path compression keeps later lookups short.
    let node = key;
    while (node !== root) {
      const up = this.parent.get(node) ?? root;
      this.parent.set(node, root);
      node = up;
    }
    return root;
  }

  link(a: VisaIdentity, b: VisaIdentity): void {
    const ra = this.find(identityKey(a));
    const rb = this.find(identityKey(b));
    if (ra !== rb) this.parent.set(ra, rb);
  }

  same(a: VisaIdentity, b: VisaIdentity): boolean {
    return this.find(identityKey(a)) === this.find(identityKey(b));
  }
}
