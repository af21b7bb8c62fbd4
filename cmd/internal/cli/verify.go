package cli

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/runway-ci/runway/flow"
	"github.com/runway-ci/runway/internal/provenance"
	"github.com/runway-ci/runway/internal/store"
)

func newVerify(g *Global) *cobra.Command {
	return &cobra.Command{
		Use:   "verify KIND/NAME[@VERSION] | sha256:DIGEST",
		Short: "Show and check the signed provenance chain of an entity, image or bundle",
		Long: `Every image, code bundle and entity version runway registers carries an
in-toto attestation (SLSA provenance v1, signed as a DSSE envelope with the
platform's provenance.signingKey, stored as an OCI referrer of its subject).
'runway verify' walks the chain from what you name to what it runs (a
launch plan's workflow, a workflow's tasks, each task's image and bundle)
and checks each link in the domain (--domain) under that domain's policy:
the signature must verify with a trusted key, the signed statement must
name the link's digest, and where the domain sets requireSignedBy a
signature by one of those keys is mandatory.

Each link shows who signed it and what the statement records: the source
repository and commit, and runway's version. The command exits 6 when a
link is refused (the code for refusals and tampering); -o json prints the
whole chain.

Promotion and exec-task run the same checks before they copy or extract
anything.`,
		Example: `  runway verify launchplan/nightly --domain production
  runway verify task/prepare@3f2a...c9 -o json
  runway verify sha256:4b1d...e0   # an image, bundle or entity manifest`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			p, project, err := g.openProject()
			if err != nil {
				return err
			}
			rep, err := flow.Verify(cmd.Context(), p, flow.VerifyRequest{Project: project, Domain: g.Domain, Subject: args[0]})
			if rep == nil || (err != nil && !errors.Is(err, provenance.ErrUnverified)) {
				return err
			}
			if g.JSON() {
				if perr := g.PrintJSON(rep); perr != nil {
					return perr
				}
				if err != nil {
					return silentError{err}
				}
				return nil
			}
			printVerify(g, rep)
			if err != nil {
				return fmt.Errorf("%d of %d links refused: %w", refused(rep), len(rep.Chain), provenance.ErrUnverified)
			}
			return nil
		},
	}
}

func refused(rep *flow.VerifyReport) int {
	n := 0
	for _, c := range rep.Chain {
		if c.Error != "" {
			n++
		}
	}
	return n
}

func printVerify(g *Global, rep *flow.VerifyReport) {
	w := g.IO.Out
	req := "nothing required"
	if len(rep.Required) > 0 {
		req = "requires " + strings.Join(rep.Required, " or ")
	}
	trusted := "no key"
	if len(rep.Trusted) > 0 {
		trusted = strings.Join(rep.Trusted, ", ")
	}
	fmt.Fprintf(w, "provenance of %s in %s (%s; trusts %s)\n", rep.Subject, rep.Domain, req, trusted)
	for _, c := range rep.Chain {
		status := "ok"
		switch {
		case c.Error != "":
			status = "REFUSED"
		case !c.Verified:
			status = "unsigned"
		}
		fmt.Fprintf(w, "  %-8s %-28s %s@%s\n", status, c.What, c.Repo, store.ShortDigest(c.Digest.String()))
		if c.Verified {
			st := c.Statement
			fmt.Fprintf(w, "           signed by %s", strings.Join(c.SignedBy, ", "))
			if st != nil {
				if st.Commit != "" {
					fmt.Fprintf(w, "; commit %s", st.Commit)
				}
				if st.Source != "" {
					fmt.Fprintf(w, " of %s", st.Source)
				}
				if st.RunwayVersion != "" {
					fmt.Fprintf(w, "; runway %s", st.RunwayVersion)
				}
				if d := st.Dependencies["base-image"]; d != "" {
					fmt.Fprintf(w, "; base %s", store.ShortDigest(d))
				}
			}
			fmt.Fprintln(w)
		}
		if c.Error != "" {
			fmt.Fprintf(w, "           %s\n", c.Error)
		} else {
			for _, p := range c.Problems {
				fmt.Fprintf(w, "           note: %s\n", p)
			}
		}
	}
}

// KeygenOptions are `runway keygen`'s.
type KeygenOptions struct {
	Out       string
	Algorithm string
	Force     bool
}

func newKeygen(g *Global) *cobra.Command {
	o := &KeygenOptions{}
	cmd := &cobra.Command{
		Use:   "keygen --out FILE",
		Short: "Make a provenance signing key and print its key ID",
		Long: `Writes a new private key to --out (PKCS#8 PEM, mode 0600) and its public key
beside it (FILE with .pub), and prints the key ID ("SHA256:..."), the name
requireSignedBy uses. Point the platform config at them:

  provenance:
    signingKey: {file: signing.pem}      # or {env: RUNWAY_SIGNING_KEY}, or a secret
    trustedKeys: [{file: signing.pub}]
  domains:
    - name: production
      requireSignedBy: ["SHA256:..."]

The public key also works with cosign: cosign verify-attestation --key
signing.pub --type slsaprovenance1 --insecure-ignore-tlog IMAGE.`,
		Example: `  runway keygen --out signing.pem
  runway keygen --out release.pem --algorithm ecdsa-p256 -o json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if o.Out == "" {
				return Usagef("--out FILE is required: where to write the private key")
			}
			pubPath := strings.TrimSuffix(o.Out, filepath.Ext(o.Out)) + ".pub"
			if !o.Force {
				for _, f := range []string{o.Out, pubPath} {
					if _, err := os.Stat(f); err == nil {
						return Usagef("%s exists: refusing to overwrite a key (--force replaces it)", f)
					}
				}
			}
			priv, pub, id, err := provenance.GenerateKey(provenance.Algorithm(o.Algorithm))
			if err != nil {
				return Usagef("%v", err)
			}
			if err := os.WriteFile(o.Out, priv, 0o600); err != nil {
				return err
			}
			if err := os.WriteFile(pubPath, pub, 0o644); err != nil {
				return err
			}
			if g.JSON() {
				return g.PrintJSON(map[string]string{"keyID": id, "privateKey": o.Out, "publicKey": pubPath, "algorithm": o.Algorithm})
			}
			fmt.Fprintf(g.IO.Out, "wrote %s (private, keep it secret) and %s (public)\nkey ID: %s\n", o.Out, pubPath, id)
			return nil
		},
	}
	cmd.Flags().StringVar(&o.Out, "out", "", "where to write the private key (the public key goes beside it, .pub)")
	cmd.Flags().StringVar(&o.Algorithm, "algorithm", string(provenance.Ed25519), "ed25519 or ecdsa-p256")
	cmd.Flags().BoolVar(&o.Force, "force", false, "overwrite existing key files")
	return cmd
}
