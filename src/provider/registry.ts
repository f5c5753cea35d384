// Every resource and data source the provider serves: adding a kind adds its resource
// file under resources/ (its data source derived there from the resource) and a line here.
import type { DataSource, Resource } from "./framework/resource.ts";
import { vmDataSource, vmResource } from "./resources/vm/resource.ts";
import { imageDataSource, imageResource } from "./resources/image.ts";
import { volumeDataSource, volumeResource } from "./resources/volume.ts";
import { networkDataSource, networkResource } from "./resources/network.ts";
import { snapshotDataSource, snapshotResource } from "./resources/snapshot.ts";
import { daemonDataSource } from "./data_sources/daemon.ts";

const KINDS: Array<[Resource, DataSource]> = [
  [vmResource, vmDataSource],
  [imageResource, imageDataSource],
  [volumeResource, volumeDataSource],
  [networkResource, networkDataSource],
  [snapshotResource, snapshotDataSource],
];

export const RESOURCES: Record<string, Resource> = Object.fromEntries(
  KINDS.map(([r]) => [r.typeName, r]),
);

export const DATA_SOURCES: Record<string, DataSource> = Object.fromEntries(
  [...KINDS.map(([, d]) => d), daemonDataSource].map((d) => [d.typeName, d]),
);
