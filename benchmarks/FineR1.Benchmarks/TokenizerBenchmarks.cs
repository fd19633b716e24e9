using FineR1.Core.Imaging;
using System.Text;
using BenchmarkDotNet.Attributes;
using FineR1.Core.Text.Chat;
using FineR1.Core.Text.Tokenization;

namespace FineR1.Benchmarks;

/// <summary>
/// Qwen tokenizer: load time of the real 11 MB <c>tokenizer.json</c> (gzipped fixture) and encode throughput.
/// Encode benchmarks count one operation per input character, so BenchmarkDotNet's <c>Op/s</c> column is chars/s.
/// The fixture is found by walking up from the binary to <c>tests/Fixtures/tokenizer</c>, or set FINER1_TOKENIZER_JSON.
/// Run: <c>dotnet run -c Release --project benchmarks/FineR1.Benchmarks -- --filter '*TokenizerBenchmarks*' --job short</c>.
/// </summary>
[MemoryDiagnoser]
[InProcessJob]
public class TokenizerBenchmarks
{
    /// <summary>Characters of each encode input.</summary>
    public const int Chars = 100_000;

    private QwenTokenizer _tokenizer = null!;
    private QwenChatTemplate _template = null!;
    private string _english = "";
    private string _multilingual = "";
    private int[] _englishIds = [];
    private ChatMessage[] _sftChat = [];

    internal static string TokenizerFile =>
        Environment.GetEnvironmentVariable("FINER1_TOKENIZER_JSON") is { Length: > 0 } file ? file : FindFixture();

    private static string FindFixture()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            var candidate = Path.Combine(dir.FullName, "tests", "Fixtures", "tokenizer", "qwen-tokenizer.json.gz");
            if (File.Exists(candidate)) return candidate;
        }
        throw new FileNotFoundException("tests/Fixtures/tokenizer/qwen-tokenizer.json.gz not found above the binary; set FINER1_TOKENIZER_JSON.");
    }

    private static string Repeat(string paragraph)
    {
        var text = new StringBuilder(Chars + paragraph.Length);
        while (text.Length < Chars) text.Append(paragraph);
        var length = Chars;
        if (char.IsHighSurrogate(text[length - 1])) length--;        // never cut a surrogate pair
        return text.ToString(0, length).PadRight(Chars, ' ');
    }

    [GlobalSetup]
    public void Setup()
    {
        _tokenizer = QwenTokenizer.Load(TokenizerFile, QwenTokenizerOptions.Qwen2_5_VL);
        _template = new QwenChatTemplate(_tokenizer);
        _english = Repeat(
            "<think> Analysis of the Visual Features:\nThe bird has a bright red head, a white belly and black wings with " +
            "large white patches. Candidate Subcategories:\n1. Red-headed Woodpecker\n2. Red-bellied Woodpecker\n" +
            "Comparison: the entirely red head and the white secondaries match the first candidate.</think>\n\n" +
            "<answer>Red-headed Woodpecker</answer>\n");
        _multilingual = Repeat(
            "Hello, world! 你好，世界！今天天气很好。 Привет, мир! مرحبا بالعالم 🚀장 𝟙𝟚𝟛 12345.678 it's   \t\r\n" +
            "def f(x):\n    return x ** 2  # comment\n");
        _englishIds = _tokenizer.Encode(_english);
        _sftChat =
        [
            ChatMessage.System("You are a helpful assistant."),
            ChatMessage.User(new ImageContent(new VisionGrid(1, 36, 36)), new TextContent("What is the proper name of this bird?")),
            ChatMessage.Assistant(_english[..3000]),
        ];
    }

    /// <summary>Reads, parses and builds the tokenizer from the gzipped 11 MB tokenizer.json.</summary>
    [Benchmark]
    public QwenTokenizer Load() => QwenTokenizer.Load(TokenizerFile, QwenTokenizerOptions.Qwen2_5_VL);

    /// <summary>Encodes 100,000 chars of English chain-of-thought text.</summary>
    [Benchmark(OperationsPerInvoke = Chars)]
    public int[] EncodeEnglish() => _tokenizer.Encode(_english);

    /// <summary>Encodes 100,000 chars mixing scripts, emoji, supplementary digits, whitespace runs and code.</summary>
    [Benchmark(OperationsPerInvoke = Chars)]
    public int[] EncodeMultilingual() => _tokenizer.Encode(_multilingual);

    /// <summary>Decodes the ids of the English text (one operation per decoded char).</summary>
    [Benchmark(OperationsPerInvoke = Chars)]
    public string DecodeEnglish() => _tokenizer.Decode(_englishIds);

    /// <summary>An SFT sample: system, user with a 324-pad image, 3,000-char assistant answer, with the label mask.</summary>
    [Benchmark]
    public ChatEncoding EncodeSftChat() => _template.Encode(_sftChat);
}

/// <summary>
/// The tokenizer's worst case: 1,000,000 CJK characters without a space or punctuation, one pre-token of 3 MB of UTF-8
/// (docs/reliability.md). Target: ≤ 2 s per call on a 2-core machine (it was quadratic: 100,000 chars took 10.6 s).
/// Seconds per call, so the heavy job (one warm-up, three measured calls): BenchmarkDotNet's default job runs it too
/// often for its in-process time limit.
/// Run: <c>dotnet run -c Release --project benchmarks/FineR1.Benchmarks -- --filter '*UnspacedTokenizerBenchmarks*'</c>.
/// </summary>
[MemoryDiagnoser]
[HeavyJob]
public class UnspacedTokenizerBenchmarks
{
    /// <summary>Characters of the input.</summary>
    public const int Chars = 1_000_000;

    private QwenTokenizer _tokenizer = null!;
    private string _unspacedCjk = "";

    [GlobalSetup]
    public void Setup()
    {
        _tokenizer = QwenTokenizer.Load(TokenizerBenchmarks.TokenizerFile, QwenTokenizerOptions.Qwen2_5_VL);
        var random = new Random(1);
        _unspacedCjk = new string(Enumerable.Range(0, Chars).Select(_ => (char)(0x4E00 + random.Next(2000))).ToArray());
    }

    /// <summary>Encodes the 1,000,000 characters (one call; the Mean column is the time per call).</summary>
    [Benchmark]
    public int[] EncodeUnspacedCjk() => _tokenizer.Encode(_unspacedCjk);
}
