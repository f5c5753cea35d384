// Every resource and data source the provider serves: adding a kind adds a line here
// and a file under resources/ or data_sources/.
import type { DataSource, Resource } from "./framework/resource.ts";
import { vmResource } from "./resources/vm.ts";
import { imageResource } from "./resources/image.ts";
import { volumeResource } from "./resources/volume.ts";
import { volumeDataSource } from "./data_sources/volume.ts";
import { imageDataSource } from "./data_sources/image.ts";
import { vmDataSource } from "./data_sources/vm.ts";
import { daemonDataSource } from "./data_sources/daemon.ts";
import { networkResource } from "./resources/network.ts";
import { networkDataSource } from "./data_sources/network.ts";

export const RESOURCES: Record<string, Resource> = Object.fromEntries(
  [vmResource, imageResource, volumeResource, networkResource].map((r) => [r.typeName, r]),
);

export const DATA_SOURCES: Record<string, DataSource> = Object.fromEntries(
  [vmDataSource, imageDataSource, volumeDataSource, networkDataSource, daemonDataSource]
    .map((d) => [d.typeName, d]),
);
