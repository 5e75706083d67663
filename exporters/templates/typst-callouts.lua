-- vaultsync: callouts and embeds as boxes in typst output (the typst writer ignores Div classes).
local styles = {
  callout = '#block(fill: rgb("#eef3fb"), stroke: (left: 3pt + rgb("#4a7bd0")), inset: (x: 10pt, y: 8pt), radius: 2pt, width: 100%, breakable: true)[',
  embed = '#block(stroke: (left: 2pt + luma(170)), inset: (left: 10pt, y: 4pt), width: 100%, breakable: true)[',
}

function Div(div)
  if not FORMAT:match("typst") then
    return nil
  end
  for _, class in ipairs(div.classes) do
    local open = styles[class]
    if open then
      local blocks = { pandoc.RawBlock("typst", open) }
      for _, block in ipairs(div.content) do
        table.insert(blocks, block)
      end
      table.insert(blocks, pandoc.RawBlock("typst", "]"))
      return blocks
    end
  end
  return nil
end
