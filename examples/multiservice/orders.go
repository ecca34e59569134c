package main

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/reflection"
	"google.golang.org/grpc/status"

	"github.com/protojwt/protojwt/examples/multiservice/orderspb"
	"github.com/protojwt/protojwt/interceptor"
	"github.com/protojwt/protojwt/manager"
	"github.com/protojwt/protojwt/tokensource"
)

// newOrdersServer returns the orders service, verifying tokens with the
// JWK Set at jwksURL, fetched with client, and its Manager, to close when
// the server stops. ctx bounds the first fetch of the set: without keys the
// service does not start. Orders reserve stock at inventory (nil: none).
func newOrdersServer(ctx context.Context, jwksURL string, client *http.Client, t timing, inventory *inventoryClient) (*grpc.Server, *manager.Manager, error) {
	m, err := manager.Open(ctx, manager.Config{
		Issuer:    issuer,
		Algorithm: "ES256",
		Audience:  []string{audience},
		JWKSURL:   jwksURL,
	}, manager.WithJWKSRefreshInterval(t.refresh), manager.WithJWKSHTTPClient(client))
	if err != nil {
		return nil, nil, err
	}
	// Health checks and reflection are open to callers without a token;
	// everything else follows orders.proto.
	auth, err := interceptor.New(m, interceptor.WithHealthAndReflection())
	if err != nil {
		m.Close()
		return nil, nil, err
	}
	s := grpc.NewServer(auth.ServerOptions()...)
	orderspb.RegisterOrdersServiceServer(s, &ordersService{byCustomer: map[string][]*orderspb.Order{}, inventory: inventory})
	healthpb.RegisterHealthServer(s, health.NewServer())
	reflection.Register(s)
	// A registered method that no rule covers would be denied to everyone:
	// stop here rather than at its first call.
	if err := auth.CheckServer(s); err != nil {
		m.Close()
		return nil, nil, err
	}
	return s, m, nil
}

// ordersService keeps orders in memory. The interceptor has enforced each
// method's rule from orders.proto when a method runs.
type ordersService struct {
	orderspb.UnimplementedOrdersServiceServer

	inventory *inventoryClient // nil: no stock is reserved

	mu         sync.Mutex
	byCustomer map[string][]*orderspb.Order
	placed     int
}

func (s *ordersService) CreateOrder(ctx context.Context, req *orderspb.CreateOrderRequest) (*orderspb.CreateOrderResponse, error) {
	tok, ok := manager.FromContext(ctx)
	if !ok {
		return nil, status.Error(codes.Internal, "no token in context")
	}
	if req.GetItem() == "" || req.GetQuantity() <= 0 {
		return nil, status.Error(codes.InvalidArgument, "an order needs an item and a positive quantity")
	}
	// The inventory service is called on behalf of the customer: with ctx,
	// which holds the customer's token, exchanged for one of inventory's.
	if s.inventory != nil {
		if err := s.inventory.reserve(ctx, req.GetItem(), req.GetQuantity()); err != nil {
			code := codes.Unavailable
			if errors.Is(err, tokensource.ErrExchangeRefused) {
				code = codes.PermissionDenied
			}
			return nil, status.Errorf(code, "reserving stock: %v", err)
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.placed++
	order := &orderspb.Order{
		Id:       fmt.Sprintf("o-%d", s.placed),
		Customer: tok.Subject,
		Item:     req.GetItem(),
		Quantity: req.GetQuantity(),
	}
	s.byCustomer[tok.Subject] = append(s.byCustomer[tok.Subject], order)
	return &orderspb.CreateOrderResponse{Order: order}, nil
}

func (s *ordersService) ListOrders(_ context.Context, req *orderspb.ListOrdersRequest) (*orderspb.ListOrdersResponse, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	orders := s.byCustomer[req.GetCustomer()]
	return &orderspb.ListOrdersResponse{Orders: slices.Clone(orders[max(0, len(orders)-10):])}, nil
}

// countingTransport counts the requests of an HTTP client: the orders
// service's fetches of the JWK Set.
type countingTransport struct {
	base http.RoundTripper
	n    atomic.Int64
}

func (c *countingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	c.n.Add(1)
	return c.base.RoundTrip(r)
}
