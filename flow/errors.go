package flow

import "errors"

// ErrUsage marks a request that cannot work as asked (conflicting options,
// an override the platform forbids): the CLI's exit code 2. An unknown
// domain is platform.ErrUnknownDomain, the one answer every command gives.
var ErrUsage = errors.New("usage")
