package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"time"

	"github.com/paygate/paygate"
	"github.com/paygate/paygate/client"
	"github.com/paygate/paygate/demoshop"
	"github.com/paygate/paygate/vault"
)

// demoShopMerchantID is the merchant demo-shop makes in the gateway it
// starts (and finds again in a --db it used before).
const demoShopMerchantID = "acct_demo_shop"

// demoShopConfig is what demo-shop needs, from its flags.
type demoShopConfig struct {
	Addr        string // the shop's listen address
	Gateway     string // a running gateway's URL; "": start one in this process
	SecretKey   string // the merchant's secret key on that gateway
	GatewayAddr string // the in-process gateway's listen address
	DB          string // the in-process gateway's database; "": a temporary one
	LogLevel    string
}

func runDemoShop(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("demo-shop", stderr)
	var c demoShopConfig
	fs.StringVar(&c.Addr, "addr", "127.0.0.1:8081", "the shop's listen address")
	fs.StringVar(&c.Gateway, "gateway", "", "URL of a running gateway to use, such as http://127.0.0.1:8080 (started with --allow-private-targets, for the Web Proxy model to reach this shop); default: start one in this process")
	fs.StringVar(&c.SecretKey, "secret-key", env("SECRET_KEY", ""), "with --gateway: the secret key (sk_...) of the merchant the shop sells as; its settings are changed for the shop (env PAYGATE_SECRET_KEY)")
	fs.StringVar(&c.GatewayAddr, "gateway-addr", "127.0.0.1:8080", "without --gateway: the listen address of the gateway started in this process")
	fs.StringVar(&c.DB, "db", "", "without --gateway: the database of the gateway started in this process (default: a temporary SQLite database, removed on exit)")
	fs.StringVar(&c.LogLevel, "log-level", "info", "debug, info, warn or error")
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), "Usage: paygate demo-shop [flags]\n\n"+
			"Runs a demo merchant site that sells one item through each way to take a card: the direct API,\n"+
			"the hosted payment page with Web Redirect and with Web Proxy, and a signed HTML form. Without\n"+
			"--gateway it starts a gateway in this process too, with a merchant for the shop.\n\nFlags:\n")
		fs.PrintDefaults()
	}
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	if c.Gateway != "" {
		given := map[string]bool{}
		fs.Visit(func(f *flag.Flag) { given[f.Name] = true })
		switch u, err := url.Parse(c.Gateway); {
		case err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "":
			return fmt.Errorf("--gateway %q: want the gateway's base URL, such as http://127.0.0.1:8080", c.Gateway)
		case c.SecretKey == "":
			return errors.New("--gateway needs --secret-key (or PAYGATE_SECRET_KEY): the secret key of the merchant the shop sells as")
		case given["db"] || given["gateway-addr"]:
			return errors.New("--db and --gateway-addr are for the gateway demo-shop starts itself: not with --gateway")
		}
	}
	logger, err := newLogger(stderr, c.LogLevel, "text")
	if err != nil {
		return err
	}
	return demoShop(ctx, c, stdout, logger)
}

func demoShop(ctx context.Context, c demoShopConfig, stdout io.Writer, logger *slog.Logger) error {
	// The shop's address first: a busy port must not leave a gateway,
	// a database or a changed merchant behind.
	ln, err := net.Listen("tcp", c.Addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", c.Addr, err)
	}
	defer ln.Close() // if the server never took it; harmless after
	shopURL := "http://" + loopbackAddr(ln.Addr())

	gatewayURL, key, where := c.Gateway, c.SecretKey, "at "+c.Gateway
	if c.Gateway == "" {
		db, note := c.DB, "database "+c.DB
		if db == "" {
			dir, err := os.MkdirTemp("", "paygate-demo-")
			if err != nil {
				return err
			}
			defer os.RemoveAll(dir) // after the gateway has closed it
			db = filepath.Join(dir, "paygate.db")
			note = "temporary database " + db + ", removed on exit"
			// A throwaway master key for a throwaway database, made
			// before the gateway would warn to back it up.
			if _, _, err := vault.LoadOrCreateKeyFile(defaultKeyFile(db)); err != nil {
				return err
			}
		}
		gw, merchantKey, err := startDemoGateway(ctx, c.GatewayAddr, db, c.LogLevel, logger.With("component", "gateway"))
		if err != nil {
			return err
		}
		defer gw.Close()
		gatewayURL, key = gw.node.URL(), merchantKey
		where = "in this process; " + note
	}

	shop := &demoshop.Shop{
		Client:     client.New(gatewayURL, key),
		GatewayURL: gatewayURL,
		Logger:     logger.With("component", "shop"),
	}
	sctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	err = shop.Setup(sctx, shopURL)
	cancel()
	if err != nil {
		return setupError(gatewayURL, err)
	}
	srv := &http.Server{Handler: shop.Handler(), ReadHeaderTimeout: 10 * time.Second,
		ErrorLog: slog.NewLogLogger(logger.Handler(), slog.LevelWarn)}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()

	fmt.Fprintf(stdout, "Paygate demo shop: open %s in your browser.\n\n", shopURL)
	fmt.Fprintf(stdout, "  shop:        %s\n  gateway:     %s (%s)\n  merchant:    %s\n", shopURL, gatewayURL, where, shop.MerchantID)
	if c.Gateway == "" {
		fmt.Fprintf(stdout, "  secret key:  %s (to try the API as the same merchant)\n", key)
	}
	fmt.Fprint(stdout, "\nTest cards (any future expiry date, any CVC):\n"+
		"  4242 4242 4242 4242   approved\n"+
		"  4000 0000 0000 0002   declined\n\n")
	if c.Gateway != "" {
		fmt.Fprintf(stdout, "The Web Proxy model needs the gateway to reach this shop at %s: start the gateway with\n"+
			"--allow-private-targets (development only), or it shows its own receipt instead of the shop's.\n\n", shopURL)
	}
	fmt.Fprintln(stdout, "Press Ctrl-C to stop.")

	select {
	case <-ctx.Done():
	case err := <-served:
		return fmt.Errorf("serve the shop: %w", err)
	}
	logger.Info("shutting down")
	sctx, cancel = context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return srv.Shutdown(sctx)
}

// startDemoGateway starts a gateway in this process on addr and the
// database db, with serve's wiring and defaults (serveFlags, startGateway):
// the simulated bank in process, and merchants' sites allowed on loopback
// (the shop is one). It returns the gateway and a new secret key of the
// shop's merchant.
func startDemoGateway(ctx context.Context, addr, db, logLevel string, logger *slog.Logger) (*gateway, string, error) {
	fs := flag.NewFlagSet("demo-shop gateway", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	var sc serveConfig
	finish := serveFlags(fs, &sc)
	if err := fs.Parse([]string{"--addr", addr, "--db", db, "--allow-private-targets", "--log-level", logLevel}); err != nil {
		return nil, "", fmt.Errorf("gateway settings: %w", err)
	}
	if err := finish(); err != nil {
		return nil, "", fmt.Errorf("gateway settings: %w", err)
	}
	gw, err := startGateway(ctx, sc, logger)
	if err != nil {
		return nil, "", fmt.Errorf("start the gateway: %w", err)
	}
	key, err := demoShopKey(ctx, gw.stores)
	if err != nil {
		gw.Close()
		return nil, "", err
	}
	return gw, key, nil
}

// demoShopKey makes the shop's merchant (or finds it, in a database an
// earlier run used) and a new secret key for it.
func demoShopKey(ctx context.Context, st *paygate.Stores) (string, error) {
	now := time.Now().UTC()
	m, err := st.Merchants.Merchant(ctx, demoShopMerchantID)
	switch {
	case paygate.ErrorCode(err) == paygate.ENOTFOUND:
		if m, err = paygate.NewMerchant(demoshop.DisplayName, "shop@example.com", now); err != nil {
			return "", err
		}
		m.ID = demoShopMerchantID
		return newMerchantWithKey(ctx, st, m)
	case err != nil:
		return "", err
	}
	secret, k := paygate.NewAPIKey(m.ID, paygate.KeySecret, now)
	if err := st.Merchants.CreateAPIKey(ctx, k); err != nil {
		return "", err
	}
	return secret, nil
}

// setupError explains a failed setup of the shop's merchant.
func setupError(gatewayURL string, err error) error {
	var e *client.Error
	switch {
	case errors.As(err, &e) && e.Status == http.StatusUnauthorized:
		return fmt.Errorf("the gateway at %s refused the secret key: %w", gatewayURL, err)
	case errors.As(err, &e):
		return fmt.Errorf("set the shop up on the gateway at %s: %w", gatewayURL, err)
	}
	return fmt.Errorf("could not reach a gateway at %s: %w\n"+
		"Start one with 'paygate serve --allow-private-targets', or leave out --gateway to run one in this process", gatewayURL, err)
}

// loopbackAddr is addr as a browser on this machine reaches it: an
// unspecified host (":8081", "0.0.0.0:8081") is 127.0.0.1.
func loopbackAddr(addr net.Addr) string {
	host, port, err := net.SplitHostPort(addr.String())
	if err != nil {
		return addr.String()
	}
	if ip := net.ParseIP(host); ip == nil || ip.IsUnspecified() {
		host = "127.0.0.1"
	}
	return net.JoinHostPort(host, port)
}
