// Package storeopen turns a store spec into a store.Store:
//
//	""            $RUNWAY_HOME/store, else ~/.runway/store (an OCI layout)
//	"file://DIR"  the OCI layout in DIR
//	anything else a registry, "HOST[:PORT][/PREFIX]" (see package remote)
//
// It lives apart from package store because both backends import store (for
// ErrNotFound and the artifact helpers): store.Open would be an import
// cycle.
package storeopen
