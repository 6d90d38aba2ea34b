package schema

import (
	"context"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"strings"

	"github.com/bufbuild/protocompile"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protodesc"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"
	"google.golang.org/protobuf/types/descriptorpb"
	"google.golang.org/protobuf/types/dynamicpb"
)

// protoCodec compiles the registry's .proto text with protocompile (a real
// compiler: imports, nested types, options) and decodes and encodes with
// dynamicpb and protojson.
type protoCodec struct {
	file protoreflect.FileDescriptor
}

// protoMainFile is the name the schema being compiled gets; references keep
// their own names (the import paths the schema uses).
const protoMainFile = "kdeck-schema.proto"

func newProtoCodec(ctx context.Context, text string, refs map[string]string) (*protoCodec, error) {
	if fdp, ok := serializedProto(text); ok {
		return newSerializedProtoCodec(fdp, refs)
	}
	srcs := map[string]string{protoMainFile: text}
	for name, t := range refs {
		srcs[name] = t
	}
	c := protocompile.Compiler{
		Resolver: protocompile.WithStandardImports(&protocompile.SourceResolver{Accessor: protocompile.SourceAccessorFromMap(srcs)}),
	}
	files, err := c.Compile(ctx, protoMainFile)
	if err != nil {
		return nil, fmt.Errorf("the Protobuf schema does not compile: %s", strings.TrimPrefix(err.Error(), protoMainFile+":"))
	}
	if files[0].Messages().Len() == 0 {
		return nil, errors.New("the Protobuf schema declares no message")
	}
	return &protoCodec{file: files[0]}, nil
}

// serializedProto recognises a schema given as a base64 FileDescriptorProto
// (what Confluent's Python and .NET serializers register, and what
// format=serialized returns).
func serializedProto(text string) (*descriptorpb.FileDescriptorProto, bool) {
	t := strings.TrimSpace(text)
	if t == "" || strings.ContainsAny(t, " \n\t;{") {
		return nil, false
	}
	b, err := base64.StdEncoding.DecodeString(t)
	if err != nil {
		return nil, false
	}
	var fdp descriptorpb.FileDescriptorProto
	if err := proto.Unmarshal(b, &fdp); err != nil || len(fdp.GetMessageType()) == 0 {
		return nil, false
	}
	return &fdp, true
}

// newSerializedProtoCodec builds descriptors from a FileDescriptorProto; its
// imports resolve to the references (text or serialized) and the
// well-known types.
func newSerializedProtoCodec(fdp *descriptorpb.FileDescriptorProto, refs map[string]string) (*protoCodec, error) {
	files := new(protoregistry.Files)
	var add func(name string, depth int) error
	add = func(name string, depth int) error {
		if _, err := files.FindFileByPath(name); err == nil {
			return nil
		}
		if fd, err := protoregistry.GlobalFiles.FindFileByPath(name); err == nil {
			return files.RegisterFile(fd)
		}
		text, ok := refs[name]
		if !ok || depth > 16 {
			return fmt.Errorf("import %q is not among the schema's references", name)
		}
		dep, ok := serializedProto(text)
		if !ok {
			c, err := newProtoCodec(context.Background(), text, refs)
			if err != nil {
				return err
			}
			dep = protodesc.ToFileDescriptorProto(c.file)
		}
		dep.Name = proto.String(name)
		for _, d := range dep.GetDependency() {
			if err := add(d, depth+1); err != nil {
				return err
			}
		}
		fd, err := protodesc.NewFile(dep, files)
		if err != nil {
			return err
		}
		return files.RegisterFile(fd)
	}
	for _, d := range fdp.GetDependency() {
		if err := add(d, 0); err != nil {
			return nil, fmt.Errorf("the Protobuf schema does not compile: %v", err)
		}
	}
	if fdp.Name == nil {
		fdp.Name = proto.String(protoMainFile)
	}
	fd, err := protodesc.NewFile(fdp, files)
	if err != nil {
		return nil, fmt.Errorf("the Protobuf schema does not compile: %v", err)
	}
	return &protoCodec{file: fd}, nil
}

// serialized returns the schema as a base64 FileDescriptorProto.
func (c *protoCodec) serialized() (string, error) {
	b, err := proto.Marshal(protodesc.ToFileDescriptorProto(c.file))
	if err != nil {
		return "", err
	}
	return base64.StdEncoding.EncodeToString(b), nil
}

// message finds the message a Confluent message-index path names: the first
// index into the file's top-level messages, the next into that message's
// nested messages, and so on.
func (c *protoCodec) message(index []int) (protoreflect.MessageDescriptor, error) {
	if len(index) == 0 {
		index = []int{0}
	}
	msgs := c.file.Messages()
	var md protoreflect.MessageDescriptor
	for _, i := range index {
		if i < 0 || i >= msgs.Len() {
			return nil, fmt.Errorf("message index %v does not name a message of the schema", index)
		}
		md = msgs.Get(i)
		msgs = md.Messages()
	}
	return md, nil
}

// messageByName finds a message by its full or short name and returns its
// index path.
func (c *protoCodec) messageByName(name string) ([]int, error) {
	var find func(msgs protoreflect.MessageDescriptors, path []int) []int
	find = func(msgs protoreflect.MessageDescriptors, path []int) []int {
		for i := range msgs.Len() {
			m := msgs.Get(i)
			p := append(append([]int(nil), path...), i)
			if string(m.FullName()) == name || string(m.Name()) == name {
				return p
			}
			if r := find(m.Messages(), p); r != nil {
				return r
			}
		}
		return nil
	}
	if p := find(c.file.Messages(), nil); p != nil {
		return p, nil
	}
	return nil, fmt.Errorf("the Protobuf schema has no message %q", name)
}

// decode reads the message indexes and the message, and appends its JSON
// form to dst.
func (c *protoCodec) decode(dst, b []byte, _ DecodeOptions) ([]byte, error) {
	index, rest, err := readIndexes(b)
	if err != nil {
		return dst, err
	}
	md, err := c.message(index)
	if err != nil {
		return dst, err
	}
	m := dynamicpb.NewMessage(md)
	if err := proto.Unmarshal(rest, m); err != nil {
		return dst, fmt.Errorf("the Protobuf payload does not decode as %s: %w", md.FullName(), err)
	}
	out, err := protojson.MarshalOptions{UseProtoNames: true}.Marshal(m)
	if err != nil {
		return dst, err
	}
	return append(dst, out...), nil
}

// encode parses text (JSON) as message index and appends the message
// indexes and the Protobuf payload to dst.
func (c *protoCodec) encode(dst, text []byte, index []int) ([]byte, error) {
	md, err := c.message(index)
	if err != nil {
		return dst, err
	}
	m := dynamicpb.NewMessage(md)
	if err := (protojson.UnmarshalOptions{}).Unmarshal(text, m); err != nil {
		return dst, fmt.Errorf("the line does not match message %s: %s", md.FullName(), err)
	}
	dst = appendIndexes(dst, index)
	return proto.MarshalOptions{}.MarshalAppend(dst, m)
}

// readIndexes reads Confluent's message-index list: a zigzag varint count
// (0 meaning the single index 0), then that many zigzag varints.
func readIndexes(b []byte) ([]int, []byte, error) {
	n, k := binary.Varint(b)
	if k <= 0 {
		return nil, nil, errors.New("the Protobuf payload is truncated before its message indexes")
	}
	b = b[k:]
	if n == 0 {
		return []int{0}, b, nil
	}
	if n < 0 || n > 100 {
		return nil, nil, fmt.Errorf("the Protobuf payload has a bad message index count %d", n)
	}
	idx := make([]int, n)
	for i := range idx {
		v, k := binary.Varint(b)
		if k <= 0 {
			return nil, nil, errors.New("the Protobuf payload is truncated in its message indexes")
		}
		idx[i], b = int(v), b[k:]
	}
	return idx, b, nil
}

func appendIndexes(dst []byte, index []int) []byte {
	if len(index) == 0 || (len(index) == 1 && index[0] == 0) {
		return append(dst, 0)
	}
	dst = binary.AppendVarint(dst, int64(len(index)))
	for _, i := range index {
		dst = binary.AppendVarint(dst, int64(i))
	}
	return dst
}
