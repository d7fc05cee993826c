/**
 * The Go source of the lab's stand-in for `pulumi-resource-random`, written by this project (not a copy): the Go
 * module proxy serves no version of github.com/pulumi/pulumi-random/provider/v4, so the real provider cannot be
 * built here. It implements only what the zone uses, `random:index/randomPassword:RandomPassword` (length, upper,
 * lower, numeric, special, overrideSpecial, min*, keepers → result, bcryptHash; any input change replaces), so
 * that the zone can run under the real engine. The README says so; the real provider is what k3s users run.
 */
export const RANDOM_STAND_IN_VERSION = "4.21.2-lab.standin";

export const RANDOM_STAND_IN_MAIN = `package main

import (
	"context"
	"crypto/rand"
	"fmt"
	"math/big"
	"strings"

	"github.com/pulumi/pulumi/pkg/v3/resource/provider"
	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
	"golang.org/x/crypto/bcrypt"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/emptypb"
	"google.golang.org/protobuf/types/known/structpb"
)

var version = "dev"

const passwordType = "random:index/randomPassword:RandomPassword"

var inputKeys = []string{"length", "upper", "lower", "numeric", "number", "special", "overrideSpecial",
	"minUpper", "minLower", "minNumeric", "minSpecial", "keepers"}

type server struct {
	pulumirpc.UnimplementedResourceProviderServer
}

func (s *server) GetPluginInfo(context.Context, *emptypb.Empty) (*pulumirpc.PluginInfo, error) {
	return &pulumirpc.PluginInfo{Version: version}, nil
}

func (s *server) GetSchema(context.Context, *pulumirpc.GetSchemaRequest) (*pulumirpc.GetSchemaResponse, error) {
	return &pulumirpc.GetSchemaResponse{Schema: fmt.Sprintf("{\\"name\\":\\"random\\",\\"version\\":%q}", version)}, nil
}

func (s *server) CheckConfig(_ context.Context, req *pulumirpc.CheckRequest) (*pulumirpc.CheckResponse, error) {
	return &pulumirpc.CheckResponse{Inputs: req.GetNews()}, nil
}

func (s *server) DiffConfig(context.Context, *pulumirpc.DiffRequest) (*pulumirpc.DiffResponse, error) {
	return &pulumirpc.DiffResponse{Changes: pulumirpc.DiffResponse_DIFF_NONE}, nil
}

func (s *server) Configure(context.Context, *pulumirpc.ConfigureRequest) (*pulumirpc.ConfigureResponse, error) {
	return &pulumirpc.ConfigureResponse{SupportsPreview: true}, nil
}

func (s *server) Check(_ context.Context, req *pulumirpc.CheckRequest) (*pulumirpc.CheckResponse, error) {
	if req.GetType() != passwordType {
		return nil, fmt.Errorf("the lab's random stand-in implements only %s, not %s", passwordType, req.GetType())
	}
	return &pulumirpc.CheckResponse{Inputs: req.GetNews()}, nil
}

func (s *server) Diff(_ context.Context, req *pulumirpc.DiffRequest) (*pulumirpc.DiffResponse, error) {
	var replaces []string
	olds, news := req.GetOldInputs().GetFields(), req.GetNews().GetFields()
	for _, k := range inputKeys {
		if !proto.Equal(olds[k], news[k]) {
			replaces = append(replaces, k)
		}
	}
	if len(replaces) == 0 {
		return &pulumirpc.DiffResponse{Changes: pulumirpc.DiffResponse_DIFF_NONE}, nil
	}
	return &pulumirpc.DiffResponse{Changes: pulumirpc.DiffResponse_DIFF_SOME, Replaces: replaces,
		DeleteBeforeReplace: false}, nil
}

func flag(f map[string]*structpb.Value, key string, def bool) bool {
	if v, ok := f[key]; ok {
		if b, ok := v.GetKind().(*structpb.Value_BoolValue); ok {
			return b.BoolValue
		}
	}
	return def
}

func number(f map[string]*structpb.Value, key string, def int) int {
	if v, ok := f[key]; ok {
		if n, ok := v.GetKind().(*structpb.Value_NumberValue); ok {
			return int(n.NumberValue)
		}
	}
	return def
}

func pick(set string) (byte, error) {
	n, err := rand.Int(rand.Reader, big.NewInt(int64(len(set))))
	if err != nil {
		return 0, err
	}
	return set[n.Int64()], nil
}

func generate(f map[string]*structpb.Value) (string, error) {
	special := "!@#$%&*()-_=+[]{}<>:?"
	if v, ok := f["overrideSpecial"]; ok && v.GetStringValue() != "" {
		special = v.GetStringValue()
	}
	classes := []struct {
		on    bool
		chars string
		min   int
	}{
		{flag(f, "upper", true), "ABCDEFGHIJKLMNOPQRSTUVWXYZ", number(f, "minUpper", 0)},
		{flag(f, "lower", true), "abcdefghijklmnopqrstuvwxyz", number(f, "minLower", 0)},
		{flag(f, "numeric", flag(f, "number", true)), "0123456789", number(f, "minNumeric", 0)},
		{flag(f, "special", true), special, number(f, "minSpecial", 0)},
	}
	length := number(f, "length", 16)
	var all strings.Builder
	var out []byte
	for _, c := range classes {
		if !c.on {
			continue
		}
		all.WriteString(c.chars)
		for i := 0; i < c.min; i++ {
			b, err := pick(c.chars)
			if err != nil {
				return "", err
			}
			out = append(out, b)
		}
	}
	if all.Len() == 0 {
		return "", fmt.Errorf("no character class enabled")
	}
	for len(out) < length {
		b, err := pick(all.String())
		if err != nil {
			return "", err
		}
		out = append(out, b)
	}
	// Shuffle, so the guaranteed characters are not all at the front.
	for i := len(out) - 1; i > 0; i-- {
		j, err := rand.Int(rand.Reader, big.NewInt(int64(i+1)))
		if err != nil {
			return "", err
		}
		out[i], out[j.Int64()] = out[j.Int64()], out[i]
	}
	return string(out[:length]), nil
}

func (s *server) Create(_ context.Context, req *pulumirpc.CreateRequest) (*pulumirpc.CreateResponse, error) {
	props := proto.Clone(req.GetProperties()).(*structpb.Struct)
	if props.Fields == nil {
		props.Fields = map[string]*structpb.Value{}
	}
	if req.GetPreview() {
		return &pulumirpc.CreateResponse{Properties: props}, nil
	}
	result, err := generate(props.Fields)
	if err != nil {
		return nil, err
	}
	hash, err := bcrypt.GenerateFromPassword([]byte(result), bcrypt.MinCost)
	if err != nil {
		return nil, err
	}
	props.Fields["result"] = structpb.NewStringValue(result)
	props.Fields["bcryptHash"] = structpb.NewStringValue(string(hash))
	return &pulumirpc.CreateResponse{Id: "none", Properties: props}, nil
}

func (s *server) Read(_ context.Context, req *pulumirpc.ReadRequest) (*pulumirpc.ReadResponse, error) {
	return &pulumirpc.ReadResponse{Id: req.GetId(), Properties: req.GetProperties(), Inputs: req.GetInputs()}, nil
}

func (s *server) Update(_ context.Context, req *pulumirpc.UpdateRequest) (*pulumirpc.UpdateResponse, error) {
	props := proto.Clone(req.GetNews()).(*structpb.Struct)
	if props.Fields == nil {
		props.Fields = map[string]*structpb.Value{}
	}
	for _, k := range []string{"result", "bcryptHash"} {
		if v, ok := req.GetOlds().GetFields()[k]; ok {
			props.Fields[k] = v
		}
	}
	return &pulumirpc.UpdateResponse{Properties: props}, nil
}

func (s *server) Delete(context.Context, *pulumirpc.DeleteRequest) (*emptypb.Empty, error) {
	return &emptypb.Empty{}, nil
}

func (s *server) Cancel(context.Context, *emptypb.Empty) (*emptypb.Empty, error) {
	return &emptypb.Empty{}, nil
}

func (s *server) GetMapping(context.Context, *pulumirpc.GetMappingRequest) (*pulumirpc.GetMappingResponse, error) {
	return &pulumirpc.GetMappingResponse{}, nil
}

func main() {
	if err := provider.Main("random", func(*provider.HostClient) (pulumirpc.ResourceProviderServer, error) {
		return &server{}, nil
	}); err != nil {
		panic(err)
	}
}
`;
