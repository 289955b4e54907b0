package dev.nexusquant.cli;

import dev.nexusquant.engine.gguf.GgmlType;
import dev.nexusquant.engine.model.Model;
import dev.nexusquant.engine.model.ModelConfig;
import dev.nexusquant.engine.tokenizer.Tokenizer;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

import java.io.PrintWriter;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.Callable;

/** {@code nq info}: what a GGUF model is. */
@Command(name = "info", mixinStandardHelpOptions = true, description = "Describe a GGUF model: architecture, shapes, tensor types, tokenizer, KV cache size.")
public final class InfoCommand implements Callable<Integer> {

    @Spec
    CommandSpec spec;

    @Mixin
    ModelOption modelOption;

    @Option(names = "--json", description = "Print one JSON object.")
    boolean json;

    @Override
    public Integer call() throws Exception {
        PrintWriter out = spec.commandLine().getOut();
        try (Model model = modelOption.load()) {
            ModelConfig c = model.config();
            Tokenizer t = model.tokenizer();
            long fp16 = model.kvLayout().fp16BytesPerToken();
            Map<String, Object> types = new LinkedHashMap<>();
            for (Map.Entry<GgmlType, Integer> e : c.tensorTypes().entrySet()) types.put(e.getKey().name(), e.getValue());
            if (json) {
                out.println(new Json()
                        .put("file", model.gguf().path().toString())
                        .put("gguf_version", model.gguf().version())
                        .put("file_bytes", model.gguf().fileSize())
                        .put("name", c.name())
                        .put("architecture", c.architecture().key)
                        .put("parameters", c.parameters())
                        .put("dim", c.dim()).put("layers", c.layers()).put("heads", c.heads()).put("kv_heads", c.kvHeads())
                        .put("head_dim", c.headDim()).put("ffn_dim", c.ffnDim()).put("vocab", c.vocabSize())
                        .put("context_length", c.contextLength())
                        .put("rope_style", c.rope().style().name().toLowerCase(java.util.Locale.ROOT))
                        .put("rope_base", c.rope().base()).put("rope_linear_scale", c.rope().linearScale())
                        .put("rms_eps", c.rmsEps()).put("qkv_bias", c.qkvBias()).put("tied_output", c.tiedOutput())
                        .put("tensor_types", types)
                        .put("tokenizer", t.model()).put("bos", t.bos()).put("eos", t.eos())
                        .put("kv_bytes_per_token_fp16", fp16).put("kv_bytes_per_token_fp32", 2 * fp16));
                return 0;
            }
            out.printf("file            %s (GGUF v%d, %,d bytes)%n", model.gguf().path(), model.gguf().version(), model.gguf().fileSize());
            out.printf("name            %s%n", c.name());
            out.printf("architecture    %s, %,d parameters%n", c.architecture().key, c.parameters());
            out.printf("shapes          dim %d, %d layers, %d heads, %d KV heads (GQA %d:1), head_dim %d, FFN %d, vocab %d%n",
                    c.dim(), c.layers(), c.heads(), c.kvHeads(), c.heads() / c.kvHeads(), c.headDim(), c.ffnDim(), c.vocabSize());
            out.printf("context length  %d tokens%n", c.contextLength());
            out.printf("RoPE            %s, base %s, linear scale %s, %d rotary dims%n", c.rope().style(),
                    fmt(c.rope().base()), fmt(c.rope().linearScale()), c.rope().rotaryDims());
            out.printf("norm            RMSNorm eps %s; q/k/v biases: %s; output %s%n", String.valueOf(c.rmsEps()),
                    c.qkvBias() ? "yes" : "no", c.tiedOutput() ? "tied to token_embd" : "separate");
            out.printf("tensor types    %s%n", types.toString().replace("=", ": ").replace("{", "").replace("}", ""));
            out.printf("tokenizer       %s, %d tokens, BOS %d, EOS %d%n", t.model(), t.vocabSize(), t.bos(), t.eos());
            out.printf("KV per token    %,d bytes fp16, %,d bytes fp32 (%d layers x 2 x %d KV heads x %d)%n",
                    fp16, 2 * fp16, c.layers(), c.kvHeads(), c.headDim());
            out.printf("KV at context   %,d bytes fp16 for %d tokens%n", fp16 * c.contextLength(), c.contextLength());
        }
        return 0;
    }

    private static String fmt(double d) {
        return d == Math.rint(d) && Math.abs(d) < 1e15 ? Long.toString((long) d) : Double.toString(d);
    }
}
