// Package storetest holds what tests of store backends and of their users
// share:
//
//   - Run, the contract every store.Store backend must meet. Each backend's
//     tests call it with a constructor of fresh stores;
//   - NewRegistry, go-containerregistry's in-process registry on an
//     httptest server, with counters (requests by method and kind, bytes
//     received in blob upload bodies) and a fault injector (fail the next N
//     matching requests with a status, optionally with Retry-After), so
//     other packages can assert "bytes uploaded, counted at the registry"
//     and exercise retries without hand-written HTTP mocks.
//
// Uploaded bytes are counted as the registry's handler reads them: a
// request failed by the injector never reaches the handler and adds
// nothing, and a body sent twice (a retry) counts twice.
package storetest
