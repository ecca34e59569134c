package protojwt

import (
	"reflect"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	spb "google.golang.org/genproto/googleapis/rpc/status"
	"google.golang.org/protobuf/proto"
)

// ReasonOf returns the reason of a protojwt denial from an error a client
// received: the Reason of the google.rpc.ErrorInfo of domain [Domain] in a
// gRPC status error or a *connect.Error (connect-go clients, any protocol),
// wrapped or not. ok is false for any other error, nil included.
//
// Package protojwt links no transport, so that a net/http program built
// with package httpauth links neither grpc nor connect: [ReasonOf] reads the
// errors through the methods they export, GRPCStatus (its Proto, a
// google.rpc.Status) and connect's Details (each detail's Type and Bytes).
func ReasonOf(err error) (reason string, ok bool) {
	var found bool
	walk(err, func(e error) bool {
		var details detailSource
		if details, found = errorDetails(e); found {
			reason, ok = details.reason()
		}
		return found
	})
	return reason, ok
}

// walk calls visit with err and the errors it wraps, depth first as
// [errors.As] visits them, until visit returns true.
func walk(err error, visit func(error) bool) bool {
	for err != nil {
		if visit(err) {
			return true
		}
		switch u := err.(type) {
		case interface{ Unwrap() error }:
			err = u.Unwrap()
		case interface{ Unwrap() []error }:
			for _, e := range u.Unwrap() {
				if walk(e, visit) {
					return true
				}
			}
			return false
		default:
			return false
		}
	}
	return false
}

// detailSource holds the details of one status error: a google.rpc.Status
// (gRPC) or connect's error details, as (type name, bytes).
type detailSource struct {
	status  *spb.Status
	connect []wireDetail
}

// wireDetail is what a *connect.ErrorDetail exports: its message's full
// name and its wire bytes.
type wireDetail interface {
	Type() string
	Bytes() []byte
}

// errorInfoName is the full name of google.rpc.ErrorInfo.
const errorInfoName = "google.rpc.ErrorInfo"

// errorDetails returns the details of e when it is a status error: it has
// a method GRPCStatus whose result has Proto() *[spb.Status] (grpc-go's
// status errors), or a method Details returning a slice of wireDetail
// (connect's *connect.Error). The methods are found by reflection because
// their result types belong to the transports.
func errorDetails(e error) (detailSource, bool) {
	v := reflect.ValueOf(e)
	if v.Kind() == reflect.Pointer && v.IsNil() {
		return detailSource{}, false
	}
	if m := v.MethodByName("GRPCStatus"); m.IsValid() && m.Type().NumIn() == 0 && m.Type().NumOut() == 1 {
		out := m.Call(nil)[0]
		if out.Kind() == reflect.Pointer && out.IsNil() {
			return detailSource{}, true
		}
		if p, isProto := out.Interface().(interface{ Proto() *spb.Status }); isProto {
			return detailSource{status: p.Proto()}, true
		}
	}
	if m := v.MethodByName("Details"); m.IsValid() && m.Type().NumIn() == 0 && m.Type().NumOut() == 1 && m.Type().Out(0).Kind() == reflect.Slice {
		out := m.Call(nil)[0]
		if !out.Type().Elem().Implements(reflect.TypeFor[wireDetail]()) {
			return detailSource{}, false
		}
		details := make([]wireDetail, 0, out.Len())
		for j := range out.Len() {
			if d := out.Index(j); !(d.Kind() == reflect.Pointer && d.IsNil()) {
				details = append(details, d.Interface().(wireDetail))
			}
		}
		return detailSource{connect: details}, true
	}
	return detailSource{}, false
}

// reason returns the reason of the first ErrorInfo of domain Domain.
func (s detailSource) reason() (string, bool) {
	for _, a := range s.status.GetDetails() {
		info := new(errdetails.ErrorInfo)
		if a.MessageIs(info) && a.UnmarshalTo(info) == nil && ours(info) {
			return info.GetReason(), true
		}
	}
	for _, d := range s.connect {
		info := new(errdetails.ErrorInfo)
		if d.Type() == errorInfoName && proto.Unmarshal(d.Bytes(), info) == nil && ours(info) {
			return info.GetReason(), true
		}
	}
	return "", false
}

// ours reports whether info is a protojwt denial's.
func ours(info *errdetails.ErrorInfo) bool {
	return info.GetDomain() == Domain && info.GetReason() != ""
}
