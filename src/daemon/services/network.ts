// infrasim.v1.NetworkService: translation between gRPC and the network controller.
import type * as grpc from "@grpc/grpc-js";
import type * as T from "../../api/gen/infrasim.v1.ts";
import type { NetworkController } from "../controllers/network.ts";
import { unary } from "./rpc.ts";

export function networkService(networks: NetworkController): grpc.UntypedServiceImplementation {
  return {
    CreateNetwork: unary("CreateNetwork", (r: T.CreateNetworkRequest) => networks.create(r)),
    GetNetwork: unary("GetNetwork", (r: T.GetNetworkRequest) => networks.get(r.ref)),
    ListNetworks: unary("ListNetworks", (r: T.ListNetworksRequest) => ({
      networks: networks.list(r.label_selector),
    })),
    UpdateNetwork: unary("UpdateNetwork", (r: T.UpdateNetworkRequest) => networks.update(r)),
    DeleteNetwork: unary(
      "DeleteNetwork",
      async (r: T.DeleteNetworkRequest) => ({ id: await networks.delete(r.ref) }),
    ),
  };
}
