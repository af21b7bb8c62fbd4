package cli

import (
	"fmt"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/runway-ci/runway/internal/store"
	"github.com/runway-ci/runway/promote"
)

func newPlatformCmd(g *Global) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "platform",
		Short: "Publish the platform config into the store, or show the published one",
		Long: `The platform team publishes its config (domains, promotion policy) into
the store once. From then on every runway that opens the store enforces the
published domains and promotion policy, whatever --platform file or flags it
is given: the policy belongs to the store, not to the caller.

A registry store with nothing published refuses every promotion into its
last domain (production) until a policy is published. An on-disk store
(file://) with nothing published uses the caller's config.

Keep write access to the store's runway-platform/config repository for the
platform team (the registry's own permissions do that).`,
		Example: `  runway platform apply platform.yaml --store registry.internal:5000/runway
  runway platform show --store registry.internal:5000/runway -o json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return Usagef("name a subcommand: apply FILE or show")
		},
	}
	cmd.AddCommand(&cobra.Command{
		Use:   "apply FILE",
		Short: "Validate FILE and publish it as the store's platform config",
		Long: `Validate the platform config FILE and publish it into the store (--store,
or the store FILE names). Nothing is written when FILE is invalid; the
errors name its lines and fields. Publishing the same file again changes
nothing.`,
		Example: `  runway platform apply platform.yaml
  runway platform apply platform.yaml --store registry.internal:5000/runway -o json`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			raw, err := os.ReadFile(args[0])
			if err != nil {
				return fmt.Errorf("reading platform config: %w", err)
			}
			// The store to publish into: --store, else the one FILE names.
			g.Platform = args[0]
			p, err := g.project(KubernetesOptions{})
			if err != nil {
				return err
			}
			pub, err := promote.PublishPlatform(cmd.Context(), p.Store, args[0], raw, time.Now())
			if err != nil {
				return err
			}
			if g.JSON() {
				return g.PrintJSON(map[string]any{"store": p.Store.String(), "digest": pub.Digest.String(),
					"domains": pub.Config.DomainNames(), "rules": len(pub.Config.Promote.Rules)})
			}
			fmt.Fprintf(g.IO.Out, "published %s into %s (%s): domains %v, %d promotion rule(s); every runway on this store now enforces them\n",
				args[0], p.Store, store.ShortDigest(pub.Digest.String()), pub.Config.DomainNames(), len(pub.Config.Promote.Rules))
			return nil
		},
	})
	cmd.AddCommand(&cobra.Command{
		Use:   "show",
		Short: "Print the platform config published in the store",
		Example: `  runway platform show
  runway platform show --store registry.internal:5000/runway -o json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			p, err := g.project(KubernetesOptions{})
			if err != nil {
				return err
			}
			pub, err := promote.LoadPublished(cmd.Context(), p.Store)
			if err != nil {
				return err
			}
			if g.JSON() {
				if pub == nil {
					return g.PrintJSON(map[string]any{"store": p.Store.String(), "published": false})
				}
				return g.PrintJSON(map[string]any{"store": p.Store.String(), "published": true, "digest": pub.Digest.String(),
					"created": pub.Created, "config": pub.Config})
			}
			if pub == nil {
				fmt.Fprintf(g.IO.Out, "nothing published in %s: promotions use the caller's config there, and a registry store refuses promotions into its last domain (publish with: runway platform apply FILE)\n", p.Store)
				return nil
			}
			fmt.Fprintf(g.IO.Out, "# published in %s at %s (%s)\n%s", p.Store, pub.Created.Format(time.RFC3339), pub.Digest, pub.Raw)
			return nil
		},
	})
	return cmd
}
