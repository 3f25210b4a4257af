/**
 * Tour steps that ask the test (tests/screenshot_support.py) for a screenshot of the
 * page and wait until it is written. Imports nothing: the kiosk bridge's tours use
 * it too, from another asset bundle.
 */
export function screenshot(name) {
    return [
        {
            content: `take the screenshot ${name}`,
            trigger: "body",
            run: () => console.log(`caisse_ap_screenshot:${name}`),
        },
        {
            content: `the screenshot ${name} is saved`,
            trigger: `body[data-caisse-ap-shot="${name}"]`,
        },
    ];
}
