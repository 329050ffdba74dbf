// The Go-template subset renderer that stands in for `helm template` (gotemplate.ts): each case is
// the output Go's text/template + Sprig produce for the same input.
import { describe, expect, it } from "vitest";
import { Renderer, RenderFailure } from "./gotemplate.ts";

function render(src: string, data: unknown, helpers = ""): string {
  const r = new Renderer();
  if (helpers) r.addFile("_helpers.tpl", helpers);
  r.addFile("t", src);
  return r.render("t", data);
}

describe("Go template subset", () => {
  it("trims whitespace only on the marked side", () => {
    expect(render("a  {{- 1 }}  b", {})).toBe("a1  b");
    expect(render("a  {{ 1 -}}  b", {})).toBe("a  1b");
    expect(render("a\n  {{- /* c */ -}}\n  b", {})).toBe("ab");
    expect(render("a {{/* c */}} b", {})).toBe("a  b");
  });

  it("if / else if / else and Go truthiness", () => {
    const t = "{{ if .a }}A{{ else if .b }}B{{ else }}C{{ end }}";
    expect(render(t, { a: 1, b: 1 })).toBe("A");
    expect(render(t, { a: 0, b: "x" })).toBe("B");
    expect(render(t, { a: [], b: {} })).toBe("C");
    expect(render(t, { a: "", b: false })).toBe("C");
  });

  it("range over lists and maps (sorted keys), with variables and else", () => {
    expect(render("{{ range $i, $v := .l }}{{ $i }}={{ $v }};{{ end }}", { l: ["x", "y"] })).toBe("0=x;1=y;");
    expect(render("{{ range $k, $v := .m }}{{ $k }}={{ $v }};{{ end }}", { m: { b: 2, a: 1 } })).toBe(
      "a=1;b=2;",
    );
    expect(render("{{ range .l }}{{ . }}{{ else }}none{{ end }}", { l: [] })).toBe("none");
  });

  it("with rebinds the dot; $ stays the root", () => {
    expect(render("{{ with .a }}{{ .b }}{{ $.c }}{{ end }}", { a: { b: "B" }, c: "C" })).toBe("BC");
    expect(render("{{ with .a }}x{{ else }}y{{ end }}", { a: {} })).toBe("y");
  });

  it("variables: := declares in the current scope, = assigns the outer one", () => {
    expect(render('{{ $x := "a" }}{{ if true }}{{ $x = "b" }}{{ end }}{{ $x }}', {})).toBe("b");
    expect(render('{{ $x := "a" }}{{ if true }}{{ $x := "b" }}{{ end }}{{ $x }}', {})).toBe("a");
  });

  it("pipelines pass the value as the last argument; parenthesised pipelines take fields", () => {
    expect(render('{{ "abc" | printf "%s-%s" "x" }}', {})).toBe("x-abc");
    expect(render("{{ (index .l 1).name }}", { l: [{ name: "a" }, { name: "b" }] })).toBe("b");
    expect(render('{{ printf "%s%s" (include "n" .) .s }}', { s: "!" }, '{{ define "n" }}N{{ end }}')).toBe(
      "N!",
    );
  });

  it("include renders a define with the given dot", () => {
    const helpers = '{{- define "greet" -}}hi {{ .name }}{{- end -}}';
    expect(render('{{ include "greet" (dict "name" "bob") | quote }}', {}, helpers)).toBe('"hi bob"');
  });

  it("Sprig functions as Helm charts use them", () => {
    expect(render('{{ default "d" .x }}|{{ default "d" "v" }}|{{ default 2 0 }}', {})).toBe("d|v|2");
    expect(render("{{ .s | quote }}", { s: 'a"b' })).toBe('"a\\"b"');
    expect(render("{{ toYaml .m | nindent 2 }}", { m: { b: [1, 2], a: "x" } })).toBe(
      "\n  a: x\n  b:\n    - 1\n    - 2",
    );
    expect(render('{{ "abcdef" | trunc 3 }}{{ "ab-" | trimSuffix "-" }}', {})).toBe("abcab");
    expect(render('{{ if contains "ti" "tikti" }}y{{ end }}', {})).toBe("y");
    expect(render('{{ "x" | b64enc }} {{ "" | sha256sum }}', {})).toBe(
      "eA== e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
    );
    expect(render('{{ $d := dict "a" 1 }}{{ $_ := set $d "b" 2 }}{{ hasKey $d "b" }}', {})).toBe("true");
    expect(render('{{ join "," (append (list "a") "b") }}', {})).toBe("a,b");
    expect(render('{{ int "42" }}{{ int .f }}', { f: 3.0 })).toBe("423");
    expect(render('{{ ternary "y" "n" .c }}{{ kindIs "invalid" .none }}', { c: false })).toBe("ntrue");
  });

  it("and/or short-circuit like Go >= 1.18 (a nil map's field is not evaluated)", () => {
    expect(render("{{ if and .m .m.port }}y{{ else }}n{{ end }}", {})).toBe("n");
    expect(render("{{ or .a .b }}", { a: "", b: "B" })).toBe("B");
  });

  it("refuses what Go refuses: a field of nil, comparing mixed types, unknown functions", () => {
    expect(() => render("{{ .a.b }}", {})).toThrow(/nil pointer/);
    expect(() => render('{{ eq 1 "1" }}', {})).toThrow(/incompatible types/);
    expect(() => render("{{ upper .a }}", { a: "x" })).toThrow(/outside the subset/);
    expect(() => render('{{ template "x" }}', {})).toThrow(/outside the subset/);
    expect(() => render("{{ if .a }}x", { a: 1 })).toThrow(/missing \{\{ end \}\}/);
    expect(() => render("{{ .m }}", { m: { a: 1 } })).toThrow(/toYaml/);
    expect(() => render('{{ printf "%s" "a" "b" }}', {})).toThrow(/EXTRA/);
  });

  it("fail raises a RenderFailure with the message", () => {
    expect(() => render('{{ fail "boom" }}', {})).toThrow(RenderFailure);
    expect(() => render('{{ fail "boom" }}', {})).toThrow("boom");
  });
});
