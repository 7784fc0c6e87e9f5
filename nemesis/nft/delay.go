package nft

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os/exec"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/skeptic-dev/skeptic/nemesis"
)

// delayState is the delay Delay last asked for, and the interfaces that carry a netem qdisc because of it.
type delayState struct {
	links     []nemesis.Link
	d, jitter time.Duration
	devs      map[string][]string // node -> interfaces whose root qdisc skeptic replaced
}

var (
	netemOnce sync.Once
	netemErr  error
)

// NetemSupported reports whether the kernel can delay packets (it has sch_netem), by adding a netem qdisc to the
// loopback interface of a throwaway network namespace. It returns nil, or an error wrapping
// nemesis.ErrUnsupported that says why not. The answer is probed once per process.
func NetemSupported() error {
	netemOnce.Do(func() {
		out, err := exec.Command("unshare", "--net", "tc", "qdisc", "add", "dev", "lo", "root", "netem", "delay",
			"1ms").CombinedOutput()
		if err != nil {
			netemErr = fmt.Errorf("nft: delay needs the kernel's sch_netem, which this kernel lacks "+
				"(tc qdisc add ... netem: %v: %s); use --runtime local, whose link proxies delay, or a kernel with "+
				"CONFIG_NET_SCH_NETEM: %w", err, strings.TrimSpace(string(out)), nemesis.ErrUnsupported)
		}
	})
	return netemErr
}

// CanDelay reports whether Delay can work on this kernel (see NetemSupported); it makes Net a
// nemesis.DelayProber, so the harness refuses a schedule with delay before the run starts.
func (n *Net) CanDelay() error { return NetemSupported() }

// Delay holds each packet sent on the given links for d plus up to jitter, replacing the previous delay, with a
// netem qdisc on the sender's interface toward each receiver. It returns an error wrapping
// nemesis.ErrUnsupported on a kernel without sch_netem. Jitter lets netem reorder packets. Delay with no links,
// or d and jitter 0, removes it.
//
// Unlike the nftables rules, this path has not run on the development kernel (which lacks netem).
func (n *Net) Delay(ctx context.Context, links []nemesis.Link, d, jitter time.Duration) error {
	if d < 0 || jitter < 0 {
		return fmt.Errorf("nft: delay: negative duration (delay %v, jitter %v)", d, jitter)
	}
	for _, l := range links {
		if err := n.checkLink(l); err != nil {
			return fmt.Errorf("nft: delay: %w", err)
		}
	}
	if err := NetemSupported(); err != nil {
		return err
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	if err := n.healDelay(ctx); err != nil {
		return err
	}
	if d == 0 && jitter == 0 {
		return nil
	}
	n.delay.links, n.delay.d, n.delay.jitter = slices.Clone(links), d, jitter
	var errs []error
	for _, id := range n.ids {
		errs = append(errs, n.installDelay(ctx, id))
	}
	return errors.Join(errs...)
}

// installDelay puts node id's share of the current delay into its namespace; n.mu is held.
func (n *Net) installDelay(ctx context.Context, id string) error {
	var dsts []string
	for _, l := range n.delay.links {
		if l.From == id {
			dsts = append(dsts, n.hosts[l.To].IP.String())
		}
	}
	if len(dsts) == 0 {
		return nil
	}
	pid, err := n.pid(id)
	if err != nil || pid == 0 {
		return err
	}
	byDev := map[string][]string{}
	for _, dst := range dsts {
		dev, err := routeDev(ctx, pid, dst)
		if err != nil {
			return fmt.Errorf("nft: delay: node %s: %w", id, err)
		}
		byDev[dev] = append(byDev[dev], dst)
	}
	if n.delay.devs == nil {
		n.delay.devs = map[string][]string{}
	}
	devs := make([]string, 0, len(byDev))
	for dev := range byDev {
		devs = append(devs, dev)
	}
	sort.Strings(devs)
	us := func(d time.Duration) string { return strconv.FormatInt(d.Microseconds(), 10) + "us" }
	for _, dev := range devs {
		n.delay.devs[id] = append(n.delay.devs[id], dev)
		prio := []string{"qdisc", "replace", "dev", dev, "root", "handle", "1:", "prio", "bands", "4", "priomap"}
		for range 16 {
			prio = append(prio, "0") // everything unmatched goes to band 1:1, undelayed
		}
		cmds := [][]string{
			prio,
			{"qdisc", "replace", "dev", dev, "parent", "1:4", "handle", "40:", "netem", "delay", us(n.delay.d), us(n.delay.jitter)},
		}
		for _, dst := range byDev[dev] {
			cmds = append(cmds, []string{"filter", "add", "dev", dev, "parent", "1:", "protocol", "ip", "prio", "1",
				"u32", "match", "ip", "dst", dst + "/32", "flowid", "1:4"})
		}
		for _, c := range cmds {
			if err := nsTool(ctx, pid, "tc", c...); err != nil {
				return fmt.Errorf("nft: delay: node %s: %w", id, err)
			}
		}
	}
	return nil
}

// healDelay removes every qdisc Delay installed; n.mu is held.
func (n *Net) healDelay(ctx context.Context) error {
	var errs []error
	for _, id := range n.ids {
		devs := n.delay.devs[id]
		if len(devs) == 0 {
			continue
		}
		pid, err := n.pid(id)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if pid == 0 {
			continue
		}
		for _, dev := range devs {
			if err := nsTool(ctx, pid, "tc", "qdisc", "del", "dev", dev, "root"); err != nil &&
				!errors.Is(err, errGone) {
				errs = append(errs, fmt.Errorf("nft: heal delay: node %s: %w", id, err))
			}
		}
	}
	n.delay = delayState{}
	return errors.Join(errs...)
}

// refreshDelay reinstalls node id's delay after a restart; n.mu is held.
func (n *Net) refreshDelay(ctx context.Context, id string) error {
	if len(n.delay.links) == 0 {
		return nil
	}
	delete(n.delay.devs, id)
	return n.installDelay(ctx, id)
}

// routeDev names the interface pid's namespace routes dst through.
func routeDev(ctx context.Context, pid int, dst string) (string, error) {
	out, err := nsOutput(ctx, pid, "ip", "-o", "route", "get", dst)
	if err != nil {
		return "", err
	}
	f := strings.Fields(out)
	for i := 0; i+1 < len(f); i++ {
		if f[i] == "dev" {
			return f[i+1], nil
		}
	}
	return "", fmt.Errorf("ip route get %s: no device in %q", dst, out)
}

func nsTool(ctx context.Context, pid int, tool string, args ...string) error {
	_, err := nsOutput(ctx, pid, tool, args...)
	return err
}

// nsOutput runs tool inside pid's network namespace (only) with nsenter.
func nsOutput(ctx context.Context, pid int, tool string, args ...string) (string, error) {
	if err := withNetNS(pid, func(int) error { return nil }); err != nil {
		return "", err
	}
	full := append([]string{"-t", strconv.Itoa(pid), "-n", tool}, args...)
	cmd := exec.CommandContext(ctx, "nsenter", full...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("%s %s: %v: %s", tool, strings.Join(args, " "), err, strings.TrimSpace(out.String()))
	}
	return out.String(), nil
}
