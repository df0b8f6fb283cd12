// @tray/core: the public API of API.md. Everything a user imports comes from here.
export {};
