import type { Bindings } from "../env";

export async function deleteTenant(_env: Bindings, _tenantId: string): Promise<void> {}
