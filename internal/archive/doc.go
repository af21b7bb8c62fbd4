// Package archive is runway's one tar extractor: code bundles (fastreg)
// and dir values (executor) both go through Extract or Stage/Unpack, so
// both get the same checks and limits.
//
// Extraction works in two passes. The first decompresses the stream into a
// temporary file next to the root while hashing it and checking every
// member header, counting decompressed bytes against Limits as it reads (a
// decompression bomb stops there); a refused member stops it at once,
// whatever the digest, and nothing is created in the root's place unless
// the digest matches and every member is acceptable. The second unpacks the
// verified file through os.Root into a temporary directory next to the
// root, which is renamed to the root only on success and removed otherwise.
//
// Refused: absolute paths, "..", non-canonical names, symlinks whose target
// leaves the root (LinkInside: judged per link and stricter than lexical
// cleaning, so a chain of links cannot climb out either), members written
// through a symlink, hardlinks, device files, FIFOs, any other special
// type, duplicates, and going over limits. Errors name the member
// (*MemberError) and match ErrUnsafeMember, ErrLimit or ErrDigestMismatch.
//
// Layer: an internal package (see README.md). It imports the standard
// library, third-party modules and other internal packages only: never a
// domain package, never flow, a presentation package (prbot, ui) or an entry
// point (cmd/, action/, server/). Only its tests import test kits
// (internal/testkit/...); internal/archtest checks this.
package archive
