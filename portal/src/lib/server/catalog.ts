/**
 * What a run can ask for: the workflow descriptor (GET /workflows/imputation, public, outside the
 * broker's API document; only the fields the portal reads are typed here) and the panel catalog
 * (GET /api/v1/panels, typed from broker.yaml).
 */
export interface WorkflowDescriptor {
  workflow_url: string;
  workflow_type: string;
  workflow_type_version: string;
  inputs: {
    build?: { values?: string[] };
    phasing?: { values?: string[]; default?: string };
    r2Filter?: { values?: string[]; default?: string };
    mode?: { values?: string[]; default?: string };
    backend?: { values?: string[]; default?: string };
  };
}

export async function workflowDescriptor(base: string, headers: Record<string, string>): Promise<WorkflowDescriptor> {
  const res = await fetch(`${base}/workflows/imputation`, { headers: { accept: 'application/json', ...(headers['user-agent'] ? { 'user-agent': headers['user-agent'] } : {}) } });
  if (!res.ok) throw new Error(`GET /workflows/imputation answered ${res.status}`);
  return (await res.json()) as WorkflowDescriptor;
}
