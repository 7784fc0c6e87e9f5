package docker

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"strings"

	"github.com/docker/docker/api/types/network"
	"github.com/docker/docker/client"
)

// SubnetPool is where the runtime picks each run's /24 when the spec names none.
var SubnetPool = netip.MustParsePrefix("10.201.0.0/16")

// createNetwork creates the run's bridge network. With subnet "" it picks a /24 of SubnetPool that overlaps no
// existing network, and tries the next one when a concurrent run took it first.
func createNetwork(ctx context.Context, cli *client.Client, name, subnet string, labels map[string]string) (netip.Prefix, error) {
	if subnet != "" {
		p, err := checkSubnet(ctx, cli, subnet)
		if err != nil {
			return netip.Prefix{}, err
		}
		if err := createBridge(ctx, cli, name, p, labels); err != nil {
			if strings.Contains(strings.ToLower(err.Error()), "overlap") {
				// Taken between the check and the creation.
				err = fmt.Errorf("%w: %w", ErrSubnet, err)
			}
			return netip.Prefix{}, err
		}
		return p, nil
	}
	used, err := usedSubnets(ctx, cli)
	if err != nil {
		return netip.Prefix{}, err
	}
	n := 1 << (24 - SubnetPool.Bits())
	start := rand.IntN(n)
	var lastErr error
	for i := range n {
		k := (start + i) % n
		a := SubnetPool.Addr().As4()
		a[2] += byte(k)
		p := netip.PrefixFrom(netip.AddrFrom4(a), 24)
		if overlapsAny(p, used) {
			continue
		}
		err := createBridge(ctx, cli, name, p, labels)
		if err == nil {
			return p, nil
		}
		lastErr = err
		if !strings.Contains(strings.ToLower(err.Error()), "overlap") {
			return netip.Prefix{}, err
		}
		used = append(used, p)
	}
	return netip.Prefix{}, fmt.Errorf("network %s: no free /24 left in %s (last error: %v); remove old networks with skeptic clean", name, SubnetPool, lastErr)
}

// ErrSubnet is wrapped by the errors that say a subnet asked for (Spec.Subnet, --subnet) cannot be used: not an
// IPv4 network of /24 or larger, or overlapping a network the engine already has.
var ErrSubnet = errors.New("unusable subnet")

// CheckSubnet returns nil when subnet can be a run's network, and otherwise an error wrapping ErrSubnet that says
// why (naming the Docker network it overlaps), or another error when the engine cannot list its networks. The
// harness calls it before it creates anything.
func (r *Runtime) CheckSubnet(ctx context.Context, subnet string) error {
	_, err := checkSubnet(ctx, r.cli, subnet)
	return err
}

func checkSubnet(ctx context.Context, cli *client.Client, subnet string) (netip.Prefix, error) {
	p, err := netip.ParsePrefix(subnet)
	if err != nil || !p.Addr().Is4() || p.Bits() > 24 || p != p.Masked() {
		return netip.Prefix{}, fmt.Errorf("%w: %q: want an IPv4 network of /24 or larger in CIDR form, such as 10.201.7.0/24", ErrSubnet, subnet)
	}
	nets, err := cli.NetworkList(ctx, network.ListOptions{})
	if err != nil {
		return netip.Prefix{}, fmt.Errorf("listing networks: %w", err)
	}
	for _, n := range nets {
		for _, c := range n.IPAM.Config {
			if u, err := netip.ParsePrefix(c.Subnet); err == nil && u.Overlaps(p) {
				return netip.Prefix{}, fmt.Errorf("%w: %s overlaps the subnet %s of the Docker network %s; choose another, or leave --subnet out to get a free one", ErrSubnet, p, u, n.Name)
			}
		}
	}
	return p, nil
}

func createBridge(ctx context.Context, cli *client.Client, name string, p netip.Prefix, labels map[string]string) error {
	gw := p.Addr().As4()
	gw[3]++
	_, err := cli.NetworkCreate(ctx, name, network.CreateOptions{
		Driver: "bridge",
		IPAM: &network.IPAM{Config: []network.IPAMConfig{{
			Subnet:  p.String(),
			Gateway: netip.AddrFrom4(gw).String(),
		}}},
		Labels: labels,
	})
	if err != nil {
		return fmt.Errorf("creating network %s with subnet %s: %w", name, p, err)
	}
	return nil
}

func usedSubnets(ctx context.Context, cli *client.Client) ([]netip.Prefix, error) {
	nets, err := cli.NetworkList(ctx, network.ListOptions{})
	if err != nil {
		return nil, fmt.Errorf("listing networks: %w", err)
	}
	var used []netip.Prefix
	for _, n := range nets {
		for _, c := range n.IPAM.Config {
			if p, err := netip.ParsePrefix(c.Subnet); err == nil {
				used = append(used, p)
			}
		}
	}
	return used, nil
}

func overlapsAny(p netip.Prefix, used []netip.Prefix) bool {
	for _, u := range used {
		if p.Overlaps(u) {
			return true
		}
	}
	return false
}
