// infrasim.v1.NetworkService: translation between gRPC and the network controller.
import type * as T from "../../api/gen/infrasim.v1.ts";
import type { NetworkController } from "../controllers/network.ts";

export function networkService(networks: NetworkController): T.NetworkServiceHandlers {
  return {
    CreateNetwork: (r) => networks.create(r),
    GetNetwork: (r) => networks.get(r.ref),
    ListNetworks: (r) => ({ networks: networks.list(r.label_selector) }),
    UpdateNetwork: (r) => networks.update(r),
    DeleteNetwork: async (r) => ({ id: await networks.delete(r.ref) }),
    GetNetworkCounters: (r) => networks.counters(r.ref),
  };
}
