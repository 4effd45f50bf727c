/*
 * The users service, by what each part does: reading (./read.ts), creating (./create.ts) and
 * editing (./update.ts, with its checks in ./edit-checks.ts). Routes, the console and the import
 * call these functions, so a rule is written once.
 */
export { batchedViewer, getVisibleUser, listUsers, readVisibleUser, targetOf, viewerOf, writerViewer } from "./read";
export { actorOf, createUser, createsUser, newUser, noop, type Actor } from "./create";
export { patchUser, putUser } from "./update";
export { userEtag } from "./present";
