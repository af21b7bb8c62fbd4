// Package storeopen turns a store spec into a store.Store:
//
//	""            $RUNWAY_HOME/store, else ~/.runway/store (an OCI layout)
//	"file://DIR"  the OCI layout in DIR
//	anything else a registry, "HOST[:PORT][/PREFIX]" (see package remote)
//
// It lives apart from package store because both backends import store (for
// ErrNotFound and the artifact helpers): store.Open would be an import
// cycle.
//
// Layer: an internal package (see README.md). It imports the standard
// library, third-party modules and other internal packages only: never a
// domain package, never flow, a presentation package (prbot, ui) or an entry
// point (cmd/, action/, server/). Only its tests import test kits
// (internal/testkit/...); internal/archtest checks this.
package storeopen
