using FineR1.Core.Generation;
using FineR1.Core.Imaging;
using FineR1.Core.Modeling;
using FineR1.Core.Text.Chat;
using FineR1.Core.Text.Tokenization;
using FineR1.Inference.Evaluation;
using static TorchSharp.torch;

namespace FineR1.Quickstart;

/// <summary>Greedy predictor for real checkpoints: images of any size (grid per image), max_new_tokens 2048 as the reference.</summary>
internal sealed class RealPredictor(Qwen2_5_VLForConditionalGeneration model, QwenTokenizer tokenizer, Qwen2VLImageProcessor processor) : IFineGrainedPredictor
{
    private readonly QwenChatTemplate _template = new(tokenizer);
    private readonly GenerationOptions _options = new() { MaxNewTokens = 2048 };

    public Task<IReadOnlyList<string>> PredictAsync(IReadOnlyList<PredictionRequest> requests, CancellationToken cancellationToken)
    {
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var device = model.lm_head.weight!.device;
        var prompts = requests.Select(r =>
        {
            var processed = processor.Process(r.ImagePath);
            var g = processed.Grids[0];
            var ids = _template.Encode([ChatMessage.User(new ImageContent(g.T, g.H, g.W), new TextContent(r.Prompt))], addGenerationPrompt: true).InputIds;
            return new GenerationPrompt(ids.Select(i => (long)i).ToArray(), [new PromptImage(processed.PixelValues.to(model.lm_head.weight!.dtype).to(device), [g.T, g.H, g.W])]);
        }).ToList();
        using var inputs = GenerationInputs.LeftPad(prompts, _options.PadTokenId, device);
        var result = SequenceGenerator.Generate(new Qwen2_5_VLGenerationModel(model), inputs, _options, cancellationToken: cancellationToken);
        return Task.FromResult<IReadOnlyList<string>>(result.Sequences.Select(s => tokenizer.Decode(s.TokenIds.Select(t => (int)t), skipSpecialTokens: true)).ToList());
    }
}
